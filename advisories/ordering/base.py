"""The ordering value: a named function from a version string to a totally ordered sort key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from ..errors import VersionError

CACHE = 1 << 16


@dataclass(frozen=True, slots=True)
class Ordering:
    """A named version ordering: ``key(version)`` gives a totally ordered sort key.

    Keys of one ordering compare with ``<`` and ``==``; an invalid string raises
    :class:`~advisories.errors.VersionError` naming the ordering and why.
    """

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


def ordering(name: str) -> Callable[[Callable[[str], Any]], Ordering]:
    """Decorate a key function into a cached :class:`Ordering`; the function may raise
    ``ValueError(why)``, which becomes a :class:`VersionError` for ``name``."""

    def wrap(parse: Callable[[str], Any]) -> Ordering:
        @lru_cache(maxsize=CACHE)
        def key(version: str) -> Any:
            try:
                return parse(version)
            except VersionError:
                raise
            except ValueError as exc:
                raise VersionError(name, version, str(exc)) from None

        return Ordering(name, key)

    return wrap


class ComparedKey:
    """A sort key defined by a three-way comparison (for orderings that are not plain tuples).

    Subclasses set ``order``: a function of two parsed values giving -1, 0 or 1.
    """

    __slots__ = ("value",)
    order: ClassVar[Callable[[Any, Any], int]]

    def __init__(self, value: Any) -> None:
        self.value = value

    def cmp(self, other: ComparedKey) -> int:
        return type(self).order(self.value, other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.cmp(other) == 0

    def __lt__(self, other: ComparedKey) -> bool:
        return self.cmp(other) < 0

    def __le__(self, other: ComparedKey) -> bool:
        return self.cmp(other) <= 0

    def __gt__(self, other: ComparedKey) -> bool:
        return self.cmp(other) > 0

    def __ge__(self, other: ComparedKey) -> bool:
        return self.cmp(other) >= 0

    __hash__ = None  # type: ignore[assignment]  # equal keys need not be equal values
