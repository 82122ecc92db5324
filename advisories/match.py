"""Which advisories affect (ecosystem, package, version): an in-memory index.

Entries are bucketed by (ecosystem, normalised package) and their ranges compiled once, so a query
costs one dict lookup plus the entries of that one package. Withdrawn records are not indexed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .aliases import AliasGroups, MergedAdvisory, merge_group
from .ecosystems import canonical_ecosystem, normalise_package
from .errors import VersionError
from .model import Advisory, Affected, severity_rank
from .ordering import Ordering, is_partial_tag, ordering_for
from .ranges import Interval, compile_range, range_ordering


@dataclass(frozen=True, slots=True)
class Match:
    """An alias group that affects a queried version, and why.

    ``advisory_id`` is the record whose range matched first; ``matched_by`` lists every record of
    the group that says the version is affected, ``disagreeing`` those of the group that cover the
    package but say it is not (the broader reading wins). ``exact_only``: the ecosystem has no
    known ordering and the version matched a listed version. ``covers_all_versions``: a range is
    ``introduced: 0`` with no fix or limit (common for malware; apply, then review).
    """

    group_id: str
    advisory_id: str
    aliases: tuple[str, ...]
    ecosystem: str
    package: str
    version: str
    summary: str
    severity: str | None
    cvss_score: float | None
    known_exploited: bool
    malicious: bool
    reason: str
    matched_by: tuple[str, ...]
    disagreeing: tuple[str, ...]
    covers_all_versions: bool
    exact_only: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unevaluated:
    """A record that covers the queried package but whose ranges could not be evaluated."""

    advisory_id: str
    why: str

    def __str__(self) -> str:
        return f"{self.advisory_id}: {self.why}"


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Matches, plus the records that could not be evaluated for this version (and why)."""

    matches: tuple[Match, ...]
    unevaluated: tuple[Unevaluated, ...]


@dataclass(frozen=True, slots=True)
class _Hit:
    reason: str
    covers_all: bool
    exact_only: bool


class _Entry:
    """One affected entry of one record, with its ranges compiled."""

    __slots__ = (
        "_version_keys",
        "advisory",
        "broken",
        "git",
        "group",
        "name",
        "ordered",
        "ordering",
        "partial",
        "versions",
    )

    def __init__(self, advisory: Advisory, affected: Affected, group: str) -> None:
        self.advisory = advisory
        self.group = group
        self.name = affected.name
        self.ordering = ordering_for(affected.ecosystem)
        self.ordered: list[tuple[Ordering, tuple[Interval, ...], str]] = []
        self.git: set[str] = set()
        self.broken: list[str] = []  # why a range could not be evaluated
        for rng in affected.ranges:
            ordering = range_ordering(affected.ecosystem, rng)
            if ordering is not None:
                try:
                    self.ordered.append((ordering, compile_range(rng, ordering), rng.type))
                except VersionError as exc:
                    self.broken.append(f"its {rng.type} range has {exc}")
            elif rng.type == "ECOSYSTEM":
                self.broken.append(f"no version ordering is known for {affected.ecosystem}")
            elif rng.type == "GIT":
                # Only the introducing / last affected commits themselves are certainly affected.
                self.git.update(
                    e.value for e in rng.events if e.kind in ("introduced", "last_affected")
                )
        self.git.discard("0")
        self.versions = frozenset(affected.versions)
        self._version_keys: list[Any] | None = None
        # Ranges that exist but cannot be evaluated (unknown ordering, GIT) and nothing else does.
        self.partial = not self.ordered and (len(affected.ranges) > 0 or not self.versions)

    def unevaluated_why(self) -> str:
        """Why this entry could not say whether a version is affected (when it cannot)."""
        if self.broken:
            return "; ".join(self.broken)
        if self.git:
            return "its only ranges are GIT commit ranges, which have no version order"
        return "it lists neither ranges nor versions"

    def listed(self, version: str, key: Any) -> bool:
        # Listed versions are compared by spelling when ranges exist too (they repeat the
        # ranges), and by version equality ("1.0" == "1.0.0") when they are the only evidence.
        if version in self.versions:
            return True
        if key is None or self.ordering is None or self.ordered:
            return False
        if self._version_keys is None:
            self._version_keys = sorted(
                self.ordering.key(v) for v in self.versions if self.ordering.is_valid(v)
            )
        # Keys are ordered, not always hashable (Maven, Debian): found by bisection.
        i = bisect_left(self._version_keys, key)
        return i < len(self._version_keys) and self._version_keys[i] == key

    def hit(self, version: str, keys: _Keys) -> _Hit | None:
        for ordering, intervals, rng_type in self.ordered:
            key = keys.get(ordering)
            for interval in intervals:
                if interval.contains(key):
                    reason = f"{version} is in {rng_type} range {interval.describe()}"
                    return _Hit(reason, interval.unbounded, False)
        exact_only = self.ordering is None
        if self.listed(version, keys.get(self.ordering) if self.ordering else None):
            return _Hit(f"{version} is listed in the affected versions", False, exact_only)
        if version in self.git:
            return _Hit(f"{version} is an affected commit of a GIT range", False, True)
        return None


class _Keys:
    """Sort keys of the queried version, computed once per ordering."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._keys: dict[Ordering, Any] = {}

    def get(self, ordering: Ordering) -> Any:
        if ordering not in self._keys:
            self._keys[ordering] = ordering.key(self.version)
        return self._keys[ordering]


class AdvisoryIndex:
    """Advisories indexed by (ecosystem, normalised package) for exact version matching."""

    def __init__(
        self,
        advisories: Iterable[Advisory],
        *,
        known_exploited: Iterable[str] = (),
        aliases: AliasGroups | None = None,
    ) -> None:
        advisories = list(advisories)
        self.aliases = aliases or AliasGroups(advisories)
        self.aliases.groups()  # computed while building, not on the first query
        kev = frozenset(known_exploited)
        self._exploited_groups = frozenset(self.aliases.group_id(cve) for cve in kev)
        self._by_package: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
        self._by_id: dict[str, Advisory] = {}
        for advisory in advisories:
            self._by_id[advisory.id] = advisory
            if advisory.withdrawn is not None:
                continue
            for affected in advisory.affected:
                entry = _Entry(advisory, affected, self.aliases.group_id(advisory.id))
                self._by_package[(affected.ecosystem, affected.package)].append(entry)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, advisory_id: str) -> Advisory | None:
        """The record stored under ``advisory_id``, withdrawn or not."""
        return self._by_id.get(advisory_id)

    def group(self, advisory_id: str) -> frozenset[str]:
        """Every id of the alias group of ``advisory_id`` (for waivers)."""
        return self.aliases.members(advisory_id)

    def merged(self, advisory_id: str) -> MergedAdvisory:
        """The alias group of ``advisory_id`` merged: union of affected entries, disagreements
        named (for ``advisories show`` and reports)."""
        records = [r for i in self.group(advisory_id) if (r := self._by_id.get(i)) is not None]
        return merge_group(self.aliases.group_id(advisory_id), records)

    def match(self, ecosystem: str, package: str, version: str) -> list[Match]:
        """Alias groups that affect ``version``; raises VersionError if it is not a version of
        the ecosystem. Records that could not be evaluated are left out: see :meth:`explain`."""
        return list(self.explain(ecosystem, package, version).matches)

    def explain(self, ecosystem: str, package: str, version: str) -> MatchResult:
        """Matches and the records that could not be evaluated (unknown ordering, no versions)."""
        eco = canonical_ecosystem(ecosystem) or ecosystem
        version = version.strip()
        ordering = ordering_for(eco)
        if ordering is not None:
            ordering.key(version)  # invalid query versions fail loudly, never "no match"
        entries = self._by_package.get((eco, normalise_package(eco, package)), ())
        keys = _Keys(version)
        hits: dict[str, list[tuple[_Entry, _Hit]]] = defaultdict(list)
        covering: dict[str, set[str]] = defaultdict(set)
        unevaluated: dict[str, str] = {}
        for entry in entries:
            group = entry.group
            covering[group].add(entry.advisory.id)
            try:
                hit = entry.hit(version, keys)
            except VersionError as exc:
                hit = None  # the query is valid in the ecosystem but not in a SEMVER range
                unevaluated.setdefault(entry.advisory.id, f"{exc} in its SEMVER range")
            if hit is not None:
                hits[group].append((entry, hit))
            elif entry.partial or entry.broken:
                unevaluated.setdefault(entry.advisory.id, entry.unevaluated_why())
        matches = [self._match(eco, version, g, hs, covering[g]) for g, hs in hits.items()]
        matches.sort(key=lambda m: (-severity_rank(m.severity), m.group_id))
        # A record whose alias group matched through another record adds nothing: it applies.
        skipped = [
            Unevaluated(i, why)
            for i, why in unevaluated.items()
            if self.aliases.group_id(i) not in hits
        ]
        return MatchResult(tuple(matches), tuple(skipped))

    def _match(
        self,
        ecosystem: str,
        version: str,
        group: str,
        hits: list[tuple[_Entry, _Hit]],
        covering: set[str],
    ) -> Match:
        matched = sorted({entry.advisory.id for entry, _ in hits})
        records = [self._by_id[i] for i in matched]
        first_entry, first_hit = hits[0]
        lead = first_entry.advisory
        known_exploited = group in self._exploited_groups or any(r.known_exploited for r in records)
        malicious = any(r.malicious for r in records)
        labels = [r.effective_severity for r in records]
        severity = "CRITICAL" if known_exploited else max(labels, key=severity_rank)
        scores = [r.cvss_score for r in records if r.cvss_score is not None]
        notes = []
        if ecosystem == "GitHub Actions" and is_partial_tag(version):
            notes.append(f"{version} is a moving tag; what it points at is not fixed by its name")
        return Match(
            group_id=group,
            advisory_id=lead.id,
            aliases=tuple(sorted(self.aliases.members(lead.id) - {lead.id})),
            ecosystem=ecosystem,
            package=first_entry.name,
            version=version,
            summary=lead.summary,
            severity=severity,
            cvss_score=max(scores) if scores else None,
            known_exploited=known_exploited,
            malicious=malicious,
            reason=f"{lead.id}: {first_hit.reason}",
            matched_by=tuple(matched),
            disagreeing=tuple(sorted(covering - set(matched))),
            covers_all_versions=any(h.covers_all for _, h in hits),
            exact_only=all(h.exact_only for _, h in hits),
            notes=tuple(notes),
        )
