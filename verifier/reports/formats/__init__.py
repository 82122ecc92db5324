"""Output formats, one module each behind `ReportFormat`; `FORMATS` maps `--format` names."""

from __future__ import annotations

from verifier.reports.formats.csv import CsvFormat
from verifier.reports.formats.cyclonedx import CycloneDxFormat
from verifier.reports.formats.html import HtmlFormat
from verifier.reports.formats.interface import ReportFormat
from verifier.reports.formats.json import JsonFormat
from verifier.reports.formats.markdown import MarkdownFormat

FORMATS: dict[str, ReportFormat] = {
    f.name: f
    for f in (JsonFormat(), CsvFormat(), MarkdownFormat(), HtmlFormat(), CycloneDxFormat())
}

__all__ = ["FORMATS", "ReportFormat"]
