"""Maven: the version order of the POM reference (what ``ComparableVersion`` implements).

A version splits into tokens at ``.``, ``-`` and digit/letter transitions (a transition counts as
``-``); each token keeps its separator as a prefix and an empty token is ``0``. Trailing nulls
(``0``, ``""``, ``ga``, ``final``, ``release``) are trimmed from the end of each ``-`` segment, so
``1.0`` == ``1``, ``1-ga-1`` == ``1-1`` and ``2.0-1`` < ``2.0.1``. Tokens compare pairwise, the
shorter version padded with nulls: ``.qualifier`` == ``-qualifier`` < ``-number`` < ``.number``;
qualifiers alpha < beta < milestone < rc == cr < snapshot < release < sp < any other word
(alphabetically); a single ``a``/``b``/``m`` means alpha/beta/milestone only when a digit follows
(``1a1`` == ``1-alpha-1`` but ``0.15.0a`` is the word "a"). Case is ignored. Any string is a
Maven version (``r136``, ``v3.1.0-alpha-1``); only an empty one, or one with spaces, is refused.
"""

from __future__ import annotations

import re
from typing import Any

from .base import ComparedKey, ordering

_TOKEN = re.compile(r"\d+|[^\d.-]+|(?<=[.-])(?=[.-]|$)")
_LETTERS = {"a": "alpha", "b": "beta", "m": "milestone"}
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RANKS = {q: i for i, q in enumerate(("alpha", "beta", "milestone", "rc", "snapshot", "", "sp"))}
_OTHER = len(_RANKS)

# A token: (kind, value). kind 0 = qualifier (value: (rank, word)), 1 = "-number", 2 = ".number".
Token = tuple[int, Any]
_NULL_QUALIFIER: Token = (0, (_RANKS[""], ""))
_ZERO: Token = (2, 0)


def _qualifier(word: str, followed_by_digit: bool) -> Token:
    if followed_by_digit and word in _LETTERS:
        word = _LETTERS[word]
    word = _ALIASES.get(word, word)
    return (0, (_RANKS.get(word, _OTHER), word if word not in _RANKS else ""))


def _is_null(token: Token) -> bool:
    return token == _NULL_QUALIFIER or (token[0] > 0 and token[1] == 0)


def _tokens(text: str) -> list[Token]:
    segments: list[list[Token]] = [[]]
    matches = list(_TOKEN.finditer(text))
    previous_end, previous_digit = 0, None
    for i, m in enumerate(matches):
        word = m.group()
        digit = word.isdigit()
        separator = text[previous_end : m.start()][-1:]  # "" between a digit and a letter
        if separator == "-" or (separator == "" and previous_digit is not None):
            segments.append([])  # a hyphen or a digit/letter transition opens a segment
            dash = True
        else:
            dash = False
        if digit:
            token: Token = (1 if dash else 2, int(word))
        elif word:
            following = text[m.end() : m.end() + 1]
            token = _qualifier(word, following.isdigit() and i + 1 < len(matches))
        else:
            token = (1, 0) if dash else _ZERO  # an empty token is 0
        segments[-1].append(token)
        previous_end, previous_digit = m.end(), digit if word else None
    tokens: list[Token] = []
    for segment in segments:
        while segment and _is_null(segment[-1]):
            segment.pop()
        tokens.extend(segment)
    return tokens


def _compare_tokens(a: Token, b: Token) -> int:
    if a[0] != b[0]:
        return (a[0] > b[0]) - (a[0] < b[0])
    return (a[1] > b[1]) - (a[1] < b[1])


def _padding(other: Token) -> Token:
    return _ZERO if other[0] == 2 else _NULL_QUALIFIER


def _cmp(a: tuple[Token, ...], b: tuple[Token, ...]) -> int:
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else _padding(b[i])
        y = b[i] if i < len(b) else _padding(x)
        if result := _compare_tokens(x, y):
            return result
    return 0


class MavenKey(ComparedKey):
    """Prefixed tokens compared pairwise, the shorter list padded with matching nulls."""

    __slots__ = ()
    order = staticmethod(_cmp)


@ordering("Maven")
def MAVEN(version: str) -> MavenKey:
    text = version.strip().lower()
    if not text or any(c.isspace() for c in text):
        raise ValueError("expected a version such as 1.2.3, 1.0-SNAPSHOT or r136")
    return MavenKey(tuple(_tokens(text)))
