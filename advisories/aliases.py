"""Alias groups: records that describe one issue under several ids (GHSA, CVE, GO-, PYSEC-…).

Groups are the transitive closure of ``id`` + ``aliases``. Within a group, records about the same
package may disagree about which versions are affected; :func:`merge_group` keeps the union (the
broader reading, fail closed) and names each disagreement so callers can show it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import VersionError
from .model import Advisory, Affected
from .ranges import compile_range, range_ordering

# The id a group is known by: a CVE if there is one, else a GHSA, else the smallest id.
_PREFERENCE = ("CVE-", "GHSA-")


def _rank(identifier: str) -> tuple[int, str]:
    for position, prefix in enumerate(_PREFERENCE):
        if identifier.startswith(prefix):
            return position, identifier
    return len(_PREFERENCE), identifier


class AliasGroups:
    """Union-find over advisory ids and aliases."""

    def __init__(self, advisories: Iterable[Advisory] = ()) -> None:
        self._parent: dict[str, str] = {}
        self._members: dict[str, frozenset[str]] | None = None
        for advisory in advisories:
            self.add(advisory.ids)

    def _find(self, identifier: str) -> str:
        parent = self._parent.setdefault(identifier, identifier)
        while parent != identifier:
            grand = self._parent[parent]
            self._parent[identifier] = grand
            identifier, parent = parent, grand
        return identifier

    def add(self, ids: Iterable[str]) -> None:
        """Declare that all ``ids`` name the same issue."""
        ids = list(ids)
        self._members = None
        root = self._find(ids[0])
        for other in ids[1:]:
            other_root = self._find(other)
            if other_root != root:
                # Keep the preferred id as root so group_id() is a lookup, not a search.
                if _rank(other_root) < _rank(root):
                    root, other_root = other_root, root
                self._parent[other_root] = root

    def group_id(self, identifier: str) -> str:
        """The id a group is known by (stable: CVE, else GHSA, else smallest id)."""
        return self._find(identifier) if identifier in self._parent else identifier

    def groups(self) -> dict[str, frozenset[str]]:
        """Every group, keyed by its group id."""
        if self._members is None:
            members: dict[str, set[str]] = defaultdict(set)
            for identifier in self._parent:
                members[self._find(identifier)].add(identifier)
            self._members = {root: frozenset(ids) for root, ids in members.items()}
        return self._members

    def members(self, identifier: str) -> frozenset[str]:
        """All ids in the group of ``identifier`` (itself alone when unknown)."""
        if identifier not in self._parent:
            return frozenset({identifier})
        return self.groups()[self._find(identifier)]


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Records of one group that read a package's affected versions differently."""

    ecosystem: str
    package: str
    readings: tuple[tuple[str, str], ...]  # (advisory id, affected versions in words)

    def describe(self) -> str:
        """One line for decision details and reports."""
        parts = "; ".join(f"{rid} says {reading}" for rid, reading in self.readings)
        return f"{self.ecosystem}:{self.package}: records disagree: {parts}"


@dataclass(frozen=True, slots=True)
class MergedAdvisory:
    """An alias group's records, with the union of their affected entries and disagreements."""

    group_id: str
    ids: frozenset[str]
    records: tuple[Advisory, ...]
    affected: tuple[Affected, ...]
    disagreements: tuple[Disagreement, ...]


def _reading(affected: list[Affected]) -> tuple[frozenset[object], str]:
    """A comparable form of what some entries say about one package, and the same in words."""
    comparable: set[object] = set()
    words: list[str] = []
    for entry in affected:
        for rng in entry.ranges:
            ordering = range_ordering(entry.ecosystem, rng)
            if ordering is None:
                comparable.add((rng.type, rng.repo, rng.events))
                words.append(f"{rng.type} {rng.describe()}")
                continue
            try:
                intervals = compile_range(rng, ordering)
            except VersionError:
                comparable.add(rng.events)
                words.append(rng.describe())
                continue
            comparable.update((iv.lo, iv.hi, iv.hi_kind) for iv in intervals)
            words.extend(iv.describe() for iv in intervals)
        comparable.update(("=", v) for v in entry.versions)
        if entry.versions:
            words.append(f"{len(entry.versions)} listed versions")
    return frozenset(comparable), "; ".join(sorted(set(words))) or "no versions"


def merge_group(group_id: str, records: Iterable[Advisory]) -> MergedAdvisory:
    """Merge one alias group's records: union of affected entries, every disagreement named."""
    records = tuple(sorted(records, key=lambda a: a.id))
    by_package: dict[tuple[str, str], dict[str, list[Affected]]] = defaultdict(dict)
    for record in records:
        for entry in record.affected:
            by_package[(entry.ecosystem, entry.package)].setdefault(record.id, []).append(entry)
    disagreements = []
    for (ecosystem, package), per_record in sorted(by_package.items()):
        readings = {rid: _reading(entries) for rid, entries in per_record.items()}
        if len(per_record) > 1 and len({comparable for comparable, _ in readings.values()}) > 1:
            described = tuple((rid, words) for rid, (_, words) in sorted(readings.items()))
            disagreements.append(Disagreement(ecosystem, package, described))
    ids = frozenset(i for r in records for i in r.ids)
    affected = tuple(entry for r in records for entry in r.affected)
    return MergedAdvisory(group_id, ids, records, affected, tuple(disagreements))
