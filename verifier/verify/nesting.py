"""A bound on how deeply a JSON document nests, checked before any parser sees it.

Python's `json` (and what `sigstore` builds on it) recurses per level and raises RecursionError
past about a thousand; a Sigstore bundle or an in-toto statement nests about ten deep.
"""

from __future__ import annotations

import re

MAX_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> str | None:
    """Why `raw` nests too deeply to parse safely, or None (brackets inside strings ignored)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", raw)):
        if match.group() in b"[{":
            depth += 1
            if depth > limit:
                return f"JSON nested too deeply (more than {limit} levels)"
        else:
            depth -= 1
    return None
