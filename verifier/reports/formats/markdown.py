"""Markdown: a title, the key figures, then each table as a GitHub-flavoured table."""

from __future__ import annotations

import re

from verifier.reports.formats.interface import ReportFormat
from verifier.reports.report import Report, Table, iso

_SPECIAL = re.compile(r"[\\|*_`<>\[\]]")
_BREAKS = re.compile(r"\s*[\r\n]\s*")
_CELL = "\x00"  # joins a row's cells while the row is escaped in one pass


def _escape(value: str) -> str:
    """A line with the characters tables and inline markup use escaped, line breaks as spaces."""
    if "\n" in value or "\r" in value:
        value = _BREAKS.sub(" ", value)
    return _SPECIAL.sub(r"\\\g<0>", value)


def _row(cells: tuple[str, ...]) -> str:
    """`| a | b |`, escaping the whole row at once (a fifth of the cost of cell by cell)."""
    joined = _CELL.join(cells)
    if joined.count(_CELL) != len(cells) - 1:  # a NUL inside a cell: drop it
        joined = _CELL.join(cell.replace(_CELL, "") for cell in cells)
    return "| " + _escape(joined).replace(_CELL, " | ") + " |"


def _table(table: Table) -> list[str]:
    lines = [f"## {table.title}", ""]
    if not table.rows:
        return [*lines, "None.", ""]
    lines.append(_row(table.columns))
    lines.append("|" + "---|" * len(table.columns))
    lines.extend(map(_row, table.rows))
    return [*lines, ""]


class MarkdownFormat(ReportFormat):
    name = "md"
    media_type = "text/markdown"
    suffix = ".md"

    def render(self, report: Report) -> bytes:
        lines = [
            f"# {report.title}",
            "",
            f"Generated {iso(report.generated_at)} from policy revision {report.policy_revision}.",
            "",
            *(f"- **{_escape(name)}**: {_escape(value)}" for name, value in report.summary),
            "",
        ]
        for table in report.tables:
            lines.extend(_table(table))
        return "\n".join(lines).encode("utf-8")
