"""RubyGems: ``Gem::Version``.

Segments are runs of digits (numbers) and of letters (strings); ``-`` means ``.pre.``. Trailing
zeros are dropped from the release part and from the pre-release part; segments compare
pairwise, the shorter padded with 0, a string before any number, so ``1.0.a`` < ``1.0`` and
``1.0.a2`` == ``1.0.a.2``. Accepted like OSV: letters may follow a number directly (``1beta``).
"""

from __future__ import annotations

import re

from .base import ComparedKey, ordering

_VERSION = re.compile(r"^[0-9A-Za-z.-]*[0-9A-Za-z]$")
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE)


def _trimmed(segments: list[int | str]) -> list[int | str]:
    while segments and segments[-1] == 0:
        segments.pop()
    return segments


def _cmp(a: tuple[int | str, ...], b: tuple[int | str, ...]) -> int:
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else 0
        y = b[i] if i < len(b) else 0
        if x == y:
            continue
        if isinstance(x, str) != isinstance(y, str):
            return -1 if isinstance(x, str) else 1
        return -1 if x < y else 1  # both numbers or both strings here
    return 0


class GemKey(ComparedKey):
    """Canonical segments compared as ``Gem::Version#<=>``."""

    __slots__ = ()
    order = staticmethod(_cmp)


@ordering("RubyGems")
def RUBYGEMS(version: str) -> GemKey:
    text = version.strip().replace("-", ".pre.")
    if not _VERSION.match(text) or not text[0].isdigit():
        raise ValueError("expected a version such as 1.2.3 or 1.0.0.beta1")
    segments: list[int | str] = [int(s) if s.isdigit() else s for s in _SEGMENT.findall(text)]
    first_word = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    release, pre = segments[:first_word], segments[first_word:]
    return GemKey(tuple(_trimmed(release) + _trimmed(pre)))
