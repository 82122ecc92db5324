"""HTML: one self-contained page (inline CSS, no scripts, no external resources or links).

Light and dark following the reader's preference; readable on a laptop and a phone (tables
scroll sideways). Every value is escaped.
"""

from __future__ import annotations

from html import escape

from verifier.reports.formats.interface import ReportFormat
from verifier.reports.report import Report, Table, iso

_STYLE = """
:root { color-scheme: light dark; --fg: #1d232b; --bg: #fff; --muted: #5c6773;
  --line: #d8dde3; --head: #f1f3f5; --deny: #b3261e; --warn: #8a5a00; --allow: #1e6b35; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ed; --bg: #14181d; --muted: #9aa5b1;
  --line: #2e3640; --head: #1d232b; --deny: #ff8a80; --warn: #ffcc66; --allow: #7fd39a; } }
body { font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg);
  margin: 0 auto; padding: 1rem; max-width: 90rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
p.meta { color: var(--muted); margin: 0 0 1rem; }
dl { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: 0; }
dl div { border: 1px solid var(--line); border-radius: .4rem; padding: .4rem .8rem; }
dt { color: var(--muted); font-size: .8rem; } dd { margin: 0; font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; min-width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
  vertical-align: top; }
th { background: var(--head); position: sticky; top: 0; }
td { overflow-wrap: anywhere; max-width: 40rem; }
td.deny { color: var(--deny); font-weight: 600; } td.warn { color: var(--warn); font-weight: 600; }
td.allow { color: var(--allow); font-weight: 600; }
"""
_OUTCOMES = frozenset({"allow", "warn", "deny", "would-deny"})


def _cell(value: str) -> str:
    if value in _OUTCOMES:
        return f'<td class="{"warn" if value == "would-deny" else value}">{value}</td>'
    return f"<td>{escape(value)}</td>"


def _table(table: Table) -> str:
    title = f"<h2>{escape(table.title)}</h2>"
    if not table.rows:
        return f"{title}\n<p>None.</p>"
    head = "".join(f"<th>{escape(column)}</th>" for column in table.columns)
    body = "\n".join("<tr>" + "".join(map(_cell, row)) + "</tr>" for row in table.rows)
    return (
        f'{title}\n<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


class HtmlFormat(ReportFormat):
    name = "html"
    media_type = "text/html"
    suffix = ".html"

    def render(self, report: Report) -> bytes:
        figures = "".join(
            f"<div><dt>{escape(name)}</dt><dd>{escape(value)}</dd></div>"
            for name, value in report.summary
        )
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(report.title)}</title>",
            f"<style>{_STYLE}</style></head><body>",
            f"<h1>{escape(report.title)}</h1>",
            f'<p class="meta">Generated {iso(report.generated_at)} from policy revision '
            f"{report.policy_revision}.</p>",
            f"<dl>{figures}</dl>",
            *(_table(table) for table in report.tables),
            "</body></html>\n",
        ]
        return "\n".join(parts).encode("utf-8")
