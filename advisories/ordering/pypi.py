"""PyPI: PEP 440 through :mod:`packaging`, and the legacy ordering for everything else.

Real PyPI advisories name releases that predate PEP 440 (``0.1-bulbasaur``, ``2.0.1rc2-git``).
OSV orders them as setuptools' ``LegacyVersion`` did before :mod:`packaging` dropped it: split
into numbers and words, every legacy version sorting before every PEP 440 one (epoch -1).
"""

from __future__ import annotations

import re
from typing import Any

from packaging.version import InvalidVersion, Version

from .base import ordering

_LEGACY_PART = re.compile(r"(\d+|[a-z]+|\.|-)")
_LEGACY_WORDS = {"pre": "c", "preview": "c", "-": "final-", "rc": "c", "dev": "@"}


def _legacy_parts(version: str) -> list[str]:
    parts: list[str] = []
    for part in [*_LEGACY_PART.split(version.lower()), "final"]:
        part = _LEGACY_WORDS.get(part, part)
        if not part or part == ".":
            continue
        if part[0].isdigit():
            parts.append(part.zfill(8))
            continue
        part = "*" + part
        if part < "*final":  # a pre-release word: drop the "final-" and zeros before it
            while parts and parts[-1] == "*final-":
                parts.pop()
        while parts and parts[-1] == "00000000":
            parts.pop()
        parts.append(part)
    return parts


@ordering("PyPI")
def PEP440(version: str) -> tuple[Any, ...]:
    text = version.strip()
    try:
        return (0, Version(text))
    except InvalidVersion:
        if not text or any(c.isspace() for c in text):
            raise ValueError("not PEP 440, nor a legacy version") from None
        return (-1, tuple(_legacy_parts(text)))
