"""Weighing matched advisories for a decision: deny, warn, or waived.

The `advisories` library says which advisories affect a version; this module applies toolgate's
policy to them: deny at or above `[advisories] deny_severity`, for malicious-code and
known-exploited records, and when the severity is unknown (fail closed); warn below; an active
waiver for any id of the advisory's alias group turns it into an `override`. Feed entries
(RSS/Atom) that name a tool and a version warn for that version: never a silent pass. A record
that covers the tool but cannot be evaluated (no ordering for its ecosystem, a version its
ordering cannot read, a GIT-only range) is never dropped: it becomes an `advisory-unevaluated`
hit, denied or warned per `[advisories] unevaluated`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Literal

from advisories import AdvisoryIndex, FeedHit, Match, Unevaluated, VersionError
from verifier.policy import AdvisoryHit, Override, ToolFacts
from verifier.versioning import ApprovedVersions, canonical_version

SEVERITY_RANK = {"LOW": 1, "MODERATE": 2, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


class AdvisoryWeigher:
    """Turns index matches for a tool version into policy `AdvisoryHit`s."""

    def __init__(
        self,
        index: AdvisoryIndex,
        deny_severity: str,
        feed_hits: Iterable[FeedHit] = (),
        *,
        unevaluated: Literal["deny", "warn"] = "warn",
    ) -> None:
        self.index = index
        self._threshold = SEVERITY_RANK[deny_severity.upper()]
        self._unevaluated: Literal["deny", "warn"] = unevaluated
        self._feed_hits: dict[tuple[str, str], list[FeedHit]] = defaultdict(list)
        self.unversioned_feed_hits: list[FeedHit] = []
        for hit in feed_hits:
            if not hit.version_hints:
                self.unversioned_feed_hits.append(hit)
            for version in hit.version_hints:
                self._feed_hits[(hit.tool, canonical_version(version))].append(hit)

    def hits(self, tool: ToolFacts, version: str, now: datetime) -> tuple[AdvisoryHit, ...]:
        """Every advisory affecting `version` of `tool`, weighed."""
        found: dict[str, AdvisoryHit] = {}
        for ecosystem, package in tool.advisory_packages:
            try:
                result = self.index.explain(ecosystem, package, version)
            except VersionError as exc:
                found.setdefault(
                    f"{ecosystem}:{package}",
                    self._unevaluated_hit(
                        f"{ecosystem}:{package}",
                        "advisories could not be compared with this version",
                        str(exc),
                    ),
                )
                continue
            for match in result.matches:
                if match.group_id not in found:
                    found[match.group_id] = self._weigh(match, tool, version, now)
            for record in result.unevaluated:
                hit = self._skipped(record, f"{ecosystem} {package}", tool, version, now)
                found.setdefault(record.advisory_id, hit)
        for entry in self._feed_hits.get((tool.name, canonical_version(version)), ()):
            hit = feed_hit(entry)
            found.setdefault(hit.advisory_id, hit)
        return tuple(found.values())

    def _skipped(
        self, record: Unevaluated, package: str, tool: ToolFacts, version: str, now: datetime
    ) -> AdvisoryHit:
        advisory = self.index.get(record.advisory_id)
        summary = advisory.summary if advisory is not None else ""
        hit = self._unevaluated_hit(
            record.advisory_id,
            summary or f"an advisory for {package}",
            f"{record} (could not be evaluated: review it, then waive or block the version)",
        )
        waiver = self._waiver(self.index.group(record.advisory_id), tool, version, now)
        return replace(hit, waiver=waiver.describe()) if waiver else hit

    def _unevaluated_hit(self, advisory_id: str, summary: str, detail: str) -> AdvisoryHit:
        return AdvisoryHit(
            advisory_id, (), None, self._unevaluated, summary, detail, unevaluated=True
        )

    def _action(self, match: Match) -> Literal["deny", "warn"]:
        rank = SEVERITY_RANK.get((match.severity or "").upper())
        if match.malicious or match.known_exploited or rank is None or rank >= self._threshold:
            return "deny"
        return "warn"

    def _weigh(self, match: Match, tool: ToolFacts, version: str, now: datetime) -> AdvisoryHit:
        notes = [match.reason]
        if match.severity is None:
            notes.append("severity unknown: treated as deny until waived")
        if match.known_exploited:
            notes.append("in CISA's known exploited vulnerabilities catalogue")
        if match.malicious:
            notes.append("malicious code")
        if match.covers_all_versions:
            notes.append("the record covers every version (no fix): applied, flagged for review")
        if match.disagreeing:
            notes.append(
                "aliased records disagree about affected versions: "
                f"{', '.join(match.disagreeing)} do not list it; the broader reading is applied"
            )
        if match.exact_only:
            notes.append(f"{match.ecosystem} has no known version ordering: matched exactly")
        notes.extend(match.notes)
        group = self.index.group(match.advisory_id) | {match.group_id, *match.aliases}
        waiver = self._waiver(group, tool, version, now)
        return AdvisoryHit(
            match.advisory_id,
            match.aliases,
            match.severity,
            self._action(match),
            match.summary,
            "; ".join(notes),
            waiver.describe() if waiver else None,
        )

    def _waiver(
        self, group: frozenset[str] | set[str], tool: ToolFacts, version: str, now: datetime
    ) -> Override | None:
        for waiver in tool.waivers:
            if waiver.advisory not in group or not waiver.active(now):
                continue
            if waiver.version is None or version in ApprovedVersions([waiver.version]):
                return waiver
        return None


def feed_hit(entry: FeedHit) -> AdvisoryHit:
    """A feed entry naming a tool, as a warning (operators promote it to a block by hand)."""
    entry_key = hashlib.sha256(entry.entry_id.encode()).hexdigest()[:12]
    return AdvisoryHit(
        f"feed:{entry.feed}#{entry_key}",
        (),
        None,
        "warn",
        entry.title,
        f"matched {entry.pattern!r} in feed {entry.feed}: {entry.link or entry.entry_id}; "
        "review it and block the version with `toolgate block` if it applies",
    )
