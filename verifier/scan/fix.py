"""`--fix`: rewrite verified tag refs to commit SHAs in place, touching nothing else.

Each edit replaces `@<tag>` inside the exact source span of one `uses:` scalar with `@<sha>`
and adds ` # <tag>` after it (before any existing comment). Every other byte of the file is
kept, line endings and encoding included. A fixed ref is a SHA, so running again changes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from verifier.scan.model import Finding


@dataclass(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    replacement: str


def plan(text: str, findings: Iterable[Finding]) -> list[Edit]:
    """The edits for the fixable findings (those with a `pin_fix`) of one file's `text`, each
    checked against the source."""
    edits: dict[int, Edit] = {}
    for finding in findings:
        reference, pin_fix = finding.reference, finding.pin_fix
        if reference is None or pin_fix is None or reference.span is None:
            continue
        source = text[reference.span.start : reference.span.end]
        needle = f"@{pin_fix.tag}"
        at = source.rfind(needle)
        if at < 0 or "\n" in source or not source.rstrip("\"'").endswith(needle):
            continue  # the source does not read as expected: leave it alone
        line_end = text.find("\n", reference.span.end)
        line_end = len(text) if line_end < 0 else line_end
        rest = text[reference.span.end : line_end]
        rewritten = source[:at] + f"@{pin_fix.commit}" + source[at + len(needle) :]
        if rest.strip().startswith("#") or not rest.strip():
            comment = f" # {pin_fix.tag}"
            edits[reference.span.start] = Edit(
                reference.span.start, reference.span.end, rewritten + comment
            )
    return sorted(edits.values(), key=lambda edit: edit.start)


def apply(text: str, edits: list[Edit]) -> str:
    """`text` with `edits` (non-overlapping, sorted) applied."""
    pieces, cursor = [], 0
    for edit in edits:
        pieces.append(text[cursor : edit.start])
        pieces.append(edit.replacement)
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)
