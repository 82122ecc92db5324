"""Dotted-number orderings: CRAN/Bioconductor (R ``package_version``) and Hackage/GHC (PVP).

Both compare their number lists lexicographically with no padding, so ``1.0 < 1.0.0`` and
``0.9 < 0.75``; R also accepts ``-`` as a separator (``0.1-0`` == ``0.01.0``).
"""

from __future__ import annotations

import re

from .base import ordering

_CRAN = re.compile(r"^\d+(?:[.-]\d+)*$")
_HACKAGE = re.compile(r"^\d+(?:\.\d+)*$")


@ordering("CRAN")
def CRAN(version: str) -> tuple[int, ...]:
    text = version.strip()
    if not _CRAN.match(text):
        raise ValueError("expected numbers separated by '.' or '-', e.g. 1.2-3")
    return tuple(int(n) for n in re.split(r"[.-]", text))


@ordering("Hackage")
def HACKAGE(version: str) -> tuple[int, ...]:
    text = version.strip()
    if not _HACKAGE.match(text):
        raise ValueError("expected numbers separated by '.', e.g. 1.2.0.3")
    return tuple(int(n) for n in text.split("."))
