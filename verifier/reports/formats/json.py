"""JSON: the report's structured document (`schema: toolgate.report/v1`), keys sorted."""

from __future__ import annotations

import orjson

from verifier.reports.formats.interface import ReportFormat
from verifier.reports.report import Report


class JsonFormat(ReportFormat):
    name = "json"
    media_type = "application/json"
    suffix = ".json"

    def render(self, report: Report) -> bytes:
        options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z
        return orjson.dumps(report.document, option=options) + b"\n"
