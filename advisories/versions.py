"""Per-ecosystem version orderings.

Each ordering turns a version string into a sort key; keys of one ordering compare totally.
Invalid strings raise :class:`~advisories.errors.VersionError`. Supported:

- ``PyPI``: PEP 440 through :mod:`packaging`.
- ``SemVer`` (npm, crates.io, Pub, Hex, OSV ``SEMVER`` ranges): SemVer 2.0.0 precedence, build
  metadata ignored; a leading ``v`` or ``=`` is accepted as npm's loose parser does.
- ``Go``: SemVer with an optional ``v`` prefix; pseudo-versions are SemVer pre-releases and
  ``+incompatible`` is build metadata, so both order as the Go toolchain orders them. Missing
  minor/patch parts count as 0 because GitHub's Go records use tags such as ``0.93``.
- ``GitHub Actions``: tags ``v1``, ``v1.2``, ``1.2.3``, ``v0.34.0`` (optional pre-release);
  missing parts count as 0, so a moving major tag ``v4`` orders as ``4.0.0`` (see
  :func:`is_partial_tag`: what it points at cannot be known from the name).
- ``Maven``: a subset of Maven's ``ComparableVersion``: items split on ``.``, ``-`` and
  digit/letter transitions; qualifiers alpha < beta < milestone < rc < snapshot < release
  (``""``, ``ga``, ``final``, ``release``) < sp < any other qualifier (lexically) < numbers;
  zeros and release words are nulls, trailing nulls of each ``-`` segment are dropped
  (``1.0-alpha1`` == ``1-alpha-1`` < ``1`` == ``1.0``). Unlike Maven, segments are flattened
  rather than nested, so ``1-1`` and ``1.1`` compare equal and ``1.0-sp1`` sorts after ``1.0.1``.

Ecosystems without an ordering (Debian, Alpine, …, unknown ones) have none here on purpose:
callers must fall back to exact matching of listed versions and say so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, total_ordering
from typing import Any

from packaging.version import InvalidVersion, Version

from .errors import VersionError

_CACHE = 1 << 16


@dataclass(frozen=True, slots=True)
class Ordering:
    """A named version ordering: ``key(version)`` gives a totally ordered sort key."""

    name: str
    key: Callable[[str], Any]

    def compare(self, left: str, right: str) -> int:
        """-1, 0 or 1 as ``left`` sorts before, equal to or after ``right``."""
        a, b = self.key(left), self.key(right)
        return (a > b) - (a < b)

    def is_valid(self, version: str) -> bool:
        """Whether ``version`` parses in this ordering."""
        try:
            self.key(version)
        except VersionError:
            return False
        return True


@lru_cache(maxsize=_CACHE)
def _pep440_key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        raise VersionError("PyPI", version, "not PEP 440") from None


_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

# A release sorts after every pre-release of the same version: flag 1 vs 0.
_RELEASE: tuple[int, tuple[()]] = (1, ())


def _prerelease_key(pre: str | None) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    if pre is None:
        return _RELEASE
    # Numeric identifiers sort before alphanumeric ones; a shorter list sorts first on a tie.
    return (0, tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")))


@lru_cache(maxsize=_CACHE)
def _semver_key(version: str) -> tuple[Any, ...]:
    text = version.strip()
    m = _SEMVER.match(text[1:] if text[:1] in ("v", "=") else text)
    if m is None:
        raise VersionError("SemVer", version, "not MAJOR.MINOR.PATCH[-PRE][+BUILD]")
    return (int(m[1]), int(m[2]), int(m[3]), _prerelease_key(m[4]))


# SemVer whose minor and patch may be missing (counted as 0), with an optional "v".
_PARTIAL = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?(?:\+[0-9a-zA-Z.-]+)?$"
)


def _partial_key(version: str, ecosystem: str, expected: str) -> tuple[Any, ...]:
    m = _PARTIAL.match(version.strip())
    if m is None:
        raise VersionError(ecosystem, version, f"expected {expected}")
    return (int(m[1]), int(m[2] or 0), int(m[3] or 0), _prerelease_key(m[4]))


@lru_cache(maxsize=_CACHE)
def _go_key(version: str) -> tuple[Any, ...]:
    return _partial_key(version, "Go", "a module version like v1.2.3")


@lru_cache(maxsize=_CACHE)
def _actions_key(version: str) -> tuple[Any, ...]:
    return _partial_key(version, "GitHub Actions", "a version tag like v1, v1.2 or 1.2.3")


def is_partial_tag(version: str) -> bool:
    """True for moving GitHub Actions tags such as ``v4`` or ``v4.1`` (fewer than 3 parts)."""
    m = _PARTIAL.match(version.strip())
    return m is not None and m[3] is None


_MAVEN_TOKEN = re.compile(r"(-?)(\d+|[a-zA-Z]+)")
_MAVEN_ALIASES = {"a": "alpha", "b": "beta", "m": "milestone", "cr": "rc", "ga": "", "final": ""}
_MAVEN_QUALIFIERS = {"alpha": 0, "beta": 1, "milestone": 2, "rc": 3, "snapshot": 4, "": 5, "sp": 6}
# Items: pre-release qualifiers < null (0, "", ga, final, release, or missing) < sp < other
# qualifiers (lexical) < numbers.
_MAVEN_NULL = (2, 0, "")


def _maven_item(token: str) -> tuple[int, int, str]:
    if token.isdigit():
        number = int(token)
        return (5, number, "") if number else _MAVEN_NULL
    word = token.lower()
    word = "" if word == "release" else _MAVEN_ALIASES.get(word, word)
    rank = _MAVEN_QUALIFIERS.get(word)
    if rank is None:
        return (4, 0, word)
    if rank < 5:
        return (1, rank, "")
    return _MAVEN_NULL if rank == 5 else (3, 0, "")


@total_ordering
class _MavenKey:
    """Items compared pairwise, the shorter list padded with nulls (as ComparableVersion does)."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[tuple[int, int, str], ...]) -> None:
        self.items = items

    def _cmp(self, other: _MavenKey) -> int:
        a, b = self.items, other.items
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else _MAVEN_NULL
            y = b[i] if i < len(b) else _MAVEN_NULL
            if x != y:
                return -1 if x < y else 1
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _MavenKey) and self.items == other.items

    def __lt__(self, other: _MavenKey) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        return hash(self.items)


@lru_cache(maxsize=_CACHE)
def _maven_key(version: str) -> _MavenKey:
    text = version.strip()
    if not text or re.search(r"[^0-9A-Za-z._+-]", text) or not text[0].isdigit():
        raise VersionError("Maven", version, "expected a version starting with a number")
    # A '-' or a digit/letter transition starts a new segment, whose trailing nulls are dropped
    # ("1.0-alpha1" is 1-alpha-1); then trailing nulls of the whole version are dropped.
    items: list[tuple[int, int, str]] = []
    segment: list[tuple[int, int, str]] = []
    previous_digit = True
    for dash, token in _MAVEN_TOKEN.findall(text):
        digit = token.isdigit()
        if dash or digit != previous_digit:
            items.extend(_trim(segment))
            segment = []
        segment.append(_maven_item(token))
        previous_digit = digit
    items.extend(segment)
    return _MavenKey(tuple(_trim(items)))


def _trim(items: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    end = len(items)
    while end and items[end - 1] == _MAVEN_NULL:
        end -= 1
    return items[:end]


PEP440 = Ordering("PyPI", _pep440_key)
SEMVER = Ordering("SemVer", _semver_key)
GO = Ordering("Go", _go_key)
GITHUB_ACTIONS = Ordering("GitHub Actions", _actions_key)
MAVEN = Ordering("Maven", _maven_key)
