"""OSV range events compiled into version intervals of one ordering.

Evaluation follows the OSV schema: events are sorted by version (``introduced: "0"`` first); a
version is affected when the last event at or below it is ``introduced`` — ``fixed`` is
exclusive, ``last_affected`` inclusive. ``limit`` events cap the range: versions at or above the
highest limit are not affected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Range
from .ordering import GO, SEMVER, Ordering, ordering_for

_KIND_ORDER = {"introduced": 0, "fixed": 1, "last_affected": 2}


@dataclass(frozen=True, slots=True)
class Interval:
    """``lo`` ≤ v (``lo`` None: every version) and v < ``hi`` (≤ when ``hi_inclusive``)."""

    lo: Any
    lo_raw: str
    hi: Any
    hi_raw: str | None
    hi_kind: str | None

    def contains(self, key: Any) -> bool:
        """Whether the version with sort key ``key`` lies in this interval."""
        if self.lo is not None and key < self.lo:
            return False
        if self.hi is None:
            return True
        return key <= self.hi if self.hi_kind == "last_affected" else key < self.hi

    @property
    def unbounded(self) -> bool:
        """True for ``introduced 0`` with no fix, last_affected or limit: every version."""
        return self.lo is None and self.hi is None

    def describe(self) -> str:
        """In words: ``introduced 0.69.4, fixed 0.69.5`` or ``introduced 0 (no fix)``."""
        head = f"introduced {self.lo_raw}"
        return f"{head}, {self.hi_kind} {self.hi_raw}" if self.hi_kind else f"{head} (no fix)"


def compile_range(rng: Range, ordering: Ordering) -> tuple[Interval, ...]:
    """Intervals of an ``ECOSYSTEM``/``SEMVER`` range; raises :class:`VersionError`."""
    keyed: list[tuple[Any, int, str, str]] = []
    limits: list[tuple[Any, str]] = []
    for event in rng.events:
        if event.kind == "introduced" and event.value == "0":
            keyed.append((None, 0, event.kind, event.value))
        elif event.kind == "limit":
            if event.value != "*":
                limits.append((ordering.key(event.value), event.value))
        else:
            keyed.append(
                (ordering.key(event.value), _KIND_ORDER[event.kind], event.kind, event.value)
            )
    # None ("0") sorts before every version; equal versions sort introduced first.
    keyed.sort(
        key=lambda item: (item[0] is not None, item[0] if item[0] is not None else 0, item[1])
    )
    intervals: list[Interval] = []
    start: tuple[Any, str] | None = None
    for key, _, kind, raw in keyed:
        if kind == "introduced":
            start = start or (key, raw)
        elif start is not None:
            intervals.append(Interval(start[0], start[1], key, raw, kind))
            start = None
    if start is not None:
        intervals.append(Interval(start[0], start[1], None, None, None))
    if limits:
        intervals = _cap(intervals, max(limits, key=lambda item: item[0]))
    return tuple(intervals)


def _cap(intervals: list[Interval], limit: tuple[Any, str]) -> list[Interval]:
    key, raw = limit
    capped = []
    for iv in intervals:
        if iv.lo is not None and iv.lo >= key:
            continue
        if iv.hi is None or iv.hi >= key:
            iv = Interval(iv.lo, iv.lo_raw, key, raw, "limit")
        capped.append(iv)
    return capped


def range_ordering(ecosystem: str, rng: Range) -> Ordering | None:
    """The ordering a range is evaluated in: SemVer for ``SEMVER``, the ecosystem's for
    ``ECOSYSTEM``, and None for ``GIT`` (commits have no order without the repository)."""
    if rng.type == "SEMVER":
        return GO if ecosystem == "Go" else SEMVER
    if rng.type == "ECOSYSTEM":
        return ordering_for(ecosystem)
    return None
