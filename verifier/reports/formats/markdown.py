"""Markdown: a title, the key figures, then each table as a GitHub-flavoured table."""

from __future__ import annotations

from verifier.reports.formats.interface import ReportFormat
from verifier.reports.report import Report, Table, iso


def _escape(value: str) -> str:
    """A cell on one line, with the characters tables and inline markup use escaped."""
    text = " ".join(value.split())
    for char in ("\\", "|", "*", "_", "`", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text


def _table(table: Table) -> list[str]:
    lines = [f"## {table.title}", ""]
    if not table.rows:
        return [*lines, "None.", ""]
    lines.append("| " + " | ".join(_escape(c) for c in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    lines.extend("| " + " | ".join(_escape(v) for v in row) + " |" for row in table.rows)
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
