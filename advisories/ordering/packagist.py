"""Packagist: Composer's ordering, i.e. PHP ``version_compare`` after Composer's normalisation.

A leading ``v`` is dropped, ``-``, ``_`` and ``+`` become ``.``, and a ``.`` is put between digits
and letters; parts then compare pairwise: numbers numerically, words by their special form
(``dev`` < ``alpha``/``a`` < ``beta``/``b`` < ``RC``/``rc`` < a number < ``pl``/``p``, matched
by prefix, any other word before ``dev``). When one version runs out, a following number makes
the longer one newer and a following word is weighed against a number (``1.0 < 1.0pl1`` but
``1.0rc1 < 1.0``).
"""

from __future__ import annotations

import re

from .base import ComparedKey, ordering

_FORMS = (("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("RC", 3), ("rc", 3))
_FORMS_AFTER = (("#", 4), ("pl", 5), ("p", 5))
_NUMBER = 4


def _weight(part: str) -> int:
    for prefix, weight in _FORMS + _FORMS_AFTER:
        if part.startswith(prefix):
            return weight
    return -1


def _cmp_part(a: int | str, b: int | str) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return (a > b) - (a < b)
    x = _NUMBER if isinstance(a, int) else _weight(a)
    y = _NUMBER if isinstance(b, int) else _weight(b)
    return (x > y) - (x < y)


def _cmp(a: tuple[int | str, ...], b: tuple[int | str, ...]) -> int:
    for x, y in zip(a, b, strict=False):
        if result := _cmp_part(x, y):
            return result
    if len(a) == len(b):
        return 0
    if len(a) > len(b):
        rest = a[len(b) :]
        return 1 if isinstance(rest[0], int) else _cmp(rest, ("#",))
    rest = b[len(a) :]
    return -1 if isinstance(rest[0], int) else _cmp(("#",), rest)


class ComposerKey(ComparedKey):
    """Normalised parts compared as PHP's ``version_compare``."""

    __slots__ = ()
    order = staticmethod(_cmp)


@ordering("Packagist")
def PACKAGIST(version: str) -> ComposerKey:
    text = version.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    if not text or any(c.isspace() for c in text):
        raise ValueError("expected a version such as 1.2.3, v2.0.0-RC1 or dev-main")
    text = re.sub(r"[-_+]", ".", text)
    text = re.sub(r"([^\d.])(\d)", r"\1.\2", text)
    text = re.sub(r"(\d)([^\d.])", r"\1.\2", text)
    return ComposerKey(tuple(int(p) if p.isdigit() else p for p in text.split(".")))
