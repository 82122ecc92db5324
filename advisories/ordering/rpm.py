"""RPM (Red Hat, AlmaLinux, Rocky Linux, openSUSE, SUSE, Mageia, openEuler, Photon OS).

``[epoch:]version[-release]`` compared field by field with ``rpmvercmp``: runs of ASCII digits
(numerically) and of ASCII letters (``strcmp``), everything else a separator; ``~`` sorts before
anything, even the end (``1.0~rc1 < 1.0``), ``^`` after the end but before any other segment
(``1.0 < 1.0^git1 < 1.0.1``), digits after letters. A missing epoch is 0; a prefix before ``:``
that is not all digits is part of the version (as OSV reads it); a missing release sorts before
any release. Every string is an RPM version.
"""

from __future__ import annotations

import re
from typing import Any

from .base import ordering

_SEGMENT = re.compile(r"[0-9]+|[A-Za-z]+|~|\^")
# Element kinds, in rpmvercmp's order: ~ < end < ^ < letters < digits.
_TILDE, _END, _CARET, _ALPHA, _DIGITS = range(5)


def vercmp_key(text: str) -> tuple[Any, ...]:
    """A sort key that orders strings as ``rpmvercmp`` does (the empty string first)."""
    if not text:
        return (0,)
    elements: list[tuple[Any, ...]] = []
    for segment in _SEGMENT.findall(text):
        if segment == "~":
            elements.append((_TILDE,))
        elif segment == "^":
            elements.append((_CARET,))
        elif segment[0].isdigit():
            elements.append((_DIGITS, int(segment)))
        else:
            elements.append((_ALPHA, segment))
    elements.append((_END,))
    return (1, tuple(elements))


@ordering("RPM")
def RPM(version: str) -> tuple[Any, ...]:
    text = version.strip()
    if not text:
        raise ValueError("expected [epoch:]version[-release]")
    epoch, colon, rest = text.partition(":")
    if not colon or not epoch.isdigit():
        epoch, rest = "0", text
    upstream, dash, release = rest.partition("-")
    release_key = (1, vercmp_key(release)) if dash else (0,)
    return (int(epoch), vercmp_key(upstream), release_key)
