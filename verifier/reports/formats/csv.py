"""CSV: the report's main table (RFC 4180, a header row, CRLF line ends, UTF-8)."""

from __future__ import annotations

import csv
import io

from verifier.reports.formats.interface import ReportFormat
from verifier.reports.report import Report

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    """Neutralise a leading formula character so spreadsheets show the cell as text (CWE-1236)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


class CsvFormat(ReportFormat):
    name = "csv"
    media_type = "text/csv"
    suffix = ".csv"

    def render(self, report: Report) -> bytes:
        table = report.tables[0]
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(table.columns)
        writer.writerows([_safe(value) for value in row] for row in table.rows)
        return out.getvalue().encode("utf-8")
