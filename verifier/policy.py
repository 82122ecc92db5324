"""The decision: a pure function from facts to allow / warn / deny, with stable reason codes.

No I/O happens here. Rules run in the one order listed in `RULES`; each yields findings, and the
strongest finding decides. Anything not positively verified is never "allow".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from verifier.versioning import ApprovedVersions, canonical_version, parse_version

_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")

Outcome = Literal["allow", "warn", "deny"]
Severity = Literal["deny", "warn", "info"]
Mode = Literal["enforce", "warn"]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was taken: a stable code, what was expected and what was found."""

    code: str
    expected: str | None = None
    found: str | None = None
    detail: str | None = None
    eligible_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code}
        for key in ("expected", "found", "detail"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        if self.eligible_at is not None:
            out["eligible_at"] = self.eligible_at.isoformat().replace("+00:00", "Z")
        return out


@dataclass(frozen=True, slots=True)
class Query:
    """What a runner asks: may I fetch this tool at this version (and these bytes)?"""

    tool: str
    version: str
    sha256: str | None = None
    asset: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseFacts:
    """What toolgate knows of one upstream release."""

    version: str
    status: Literal["pending", "verified", "rejected"]
    first_seen_at: datetime
    assets: Mapping[str, str] = field(default_factory=dict)  # asset name -> pinned sha256
    commits: frozenset[str] = frozenset()  # every commit seen for it (a moved tag's too)
    reasons: tuple[Reason, ...] = ()  # why it was rejected
    pinned_commit: str | None = None  # the commit first seen (actions: the tag's first target)
    changes: tuple[Reason, ...] = ()  # upstream changes after first sight (digest-changed, …)


@dataclass(frozen=True, slots=True)
class Override:
    """An operator's approval, block or advisory waiver (`version` of a waiver: a specifier)."""

    id: int
    kind: Literal["approve", "block", "waive"]
    reason: str
    actor: str
    created_at: datetime
    version: str | None = None
    sha256: str | None = None
    commit: str | None = None
    expires_at: datetime | None = None
    advisory: str | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    def describe(self) -> str:
        until = f" until {_iso(self.expires_at)}" if self.expires_at else ""
        return f"{self.kind} #{self.id} by {self.actor}{until}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ToolFacts:
    """Everything the policy needs to know about one inventory tool."""

    name: str
    mode: Mode
    cooldown: timedelta
    approved: ApprovedVersions
    releases: Mapping[str, ReleaseFacts] = field(default_factory=dict)  # canonical version ->
    approvals: tuple[Override, ...] = ()
    blocks: tuple[Override, ...] = ()
    waivers: tuple[Override, ...] = ()
    advisory_packages: tuple[tuple[str, str], ...] = ()
    by_commit: Mapping[str, str] = field(default_factory=dict)  # full commit SHA -> version key


@dataclass(frozen=True, slots=True)
class AdvisoryHit:
    """An advisory that affects the queried version, already weighed against the policy.

    `action` is "deny" (at or above the configured severity, malicious, known exploited) or
    "warn"; `waiver` names the operator's waiver that turns it into an `override`.
    `unevaluated`: the record covers the tool but could not be compared with the version
    (reason `advisory-unevaluated`, action per `[advisories] unevaluated`).
    """

    advisory_id: str
    aliases: tuple[str, ...]
    severity: str | None
    action: Literal["deny", "warn"]
    summary: str
    detail: str
    waiver: str | None = None
    unevaluated: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    reason: Reason


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a query; `would_deny` marks a warn that enforce mode would have denied."""

    outcome: Outcome
    tool: str
    version: str
    reasons: tuple[Reason, ...]
    sha256: str | None = None
    would_deny: bool = False


@dataclass(frozen=True, slots=True)
class _Context:
    query: Query
    tool: ToolFacts
    release: ReleaseFacts | None
    approvals: tuple[Override, ...]
    now: datetime
    advisories: tuple[AdvisoryHit, ...]
    commit: str | None = None  # the full commit SHA the query named, when it named one

    def _digests(self, verified_only: bool) -> set[str]:
        """Approved digests, plus the pinned digests of the asked asset (or of every asset)."""
        digests = {a.sha256 for a in self.approvals if a.sha256}
        release = self.release
        if release is None or (verified_only and release.status != "verified"):
            return digests
        if self.query.asset is None:
            return digests | set(release.assets.values())
        if (digest := release.assets.get(self.query.asset)) is not None:
            digests.add(digest)
        return digests

    def known_digests(self) -> set[str]:
        """The digests toolgate verified (or an operator approved) for what the runner asks."""
        return self._digests(verified_only=True)

    def requested_digests(self) -> set[str]:
        """The digests the runner may end up fetching with this query."""
        return {self.query.sha256} if self.query.sha256 else self._digests(verified_only=False)


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def _manual_blocks(ctx: _Context) -> Iterator[Finding]:
    version = canonical_version(ctx.query.version)
    for block in ctx.tool.blocks:
        if not block.active(ctx.now):
            continue
        if block.sha256:
            hit = block.sha256 in ctx.requested_digests()
            found = f"sha256 {block.sha256}"
        elif block.commit:
            commits = ctx.release.commits if ctx.release else frozenset()
            hit = block.commit in commits or version == block.commit
            found = f"commit {block.commit}"
        else:
            hit = block.version is None or canonical_version(block.version) == version
            found = f"version {ctx.query.version}" if block.version else "every version"
        if hit:
            yield Finding(
                "deny", Reason("manual-block", "no active block", found, block.describe())
            )


def _release_state(ctx: _Context) -> Iterator[Finding]:
    if ctx.approvals:
        approval = ctx.approvals[0]
        yield Finding("info", Reason("override", detail=approval.describe()))
        return
    release = ctx.release
    if release is None:
        yield Finding(
            "deny",
            Reason(
                "unknown-version",
                "a release toolgate has seen and verified",
                f"no record of {ctx.query.version}",
                "approve it with `toolgate approve` or wait for the release watcher",
            ),
        )
    elif release.status == "pending":
        yield Finding(
            "deny",
            Reason(
                "pending-verification",
                "a verified release",
                f"first seen {_iso(release.first_seen_at)}, verification not finished",
            ),
        )
    elif release.status == "rejected":
        rejected = release.reasons or (Reason("not-verified", "a verified release", "rejected"),)
        yield from (Finding("deny", reason) for reason in rejected)


def _upstream_changes(ctx: _Context) -> Iterator[Finding]:
    """A release that changed upstream after first sight is denied, except what was verified
    at first sight when the runner pins it (its sha256, or the tag's first commit)."""
    release = ctx.release
    if release is None or not release.changes or ctx.approvals:
        return
    verified = release.status == "verified"
    pins_digest = verified and ctx.query.sha256 in release.assets.values()
    pins_commit = verified and ctx.commit is not None and ctx.commit == release.pinned_commit
    if not (pins_digest or pins_commit):
        yield from (Finding("deny", reason) for reason in release.changes)


def _approved_versions(ctx: _Context) -> Iterator[Finding]:
    version = ctx.release.version if ctx.commit and ctx.release else ctx.query.version
    if ctx.approvals or version in ctx.tool.approved:
        return
    yield Finding(
        "deny",
        Reason("not-approved", ctx.tool.approved.describe(), ctx.query.version),
    )


def _digest(ctx: _Context) -> Iterator[Finding]:
    query = ctx.query
    release = ctx.release
    if (
        query.asset is not None
        and release is not None
        and release.status == "verified"
        and query.asset not in release.assets
        and not ctx.approvals
    ):
        known = ", ".join(sorted(release.assets)) or "none"
        yield Finding(
            "deny",
            Reason(
                "not-verified",
                "an asset of the verified release",
                f"asset {query.asset}",
                f"known assets: {known}",
            ),
        )
        return
    if query.sha256 is None:
        return
    known = ctx.known_digests()
    if not known:
        if ctx.release and ctx.release.status == "verified":
            yield Finding(
                "deny",
                Reason("not-verified", "a verified digest to compare with", "none recorded"),
            )
        return
    if query.sha256 not in known:
        yield Finding(
            "deny",
            Reason("checksum-mismatch", " or ".join(sorted(known)), query.sha256),
        )


def _cooldown(ctx: _Context) -> Iterator[Finding]:
    release = ctx.release
    if ctx.approvals or release is None or release.status != "verified" or not ctx.tool.cooldown:
        return
    eligible_at = release.first_seen_at + ctx.tool.cooldown
    if ctx.now < eligible_at:
        yield Finding(
            "deny",
            Reason(
                "too-new",
                f"first seen at least {ctx.tool.cooldown} ago",
                f"first seen {_iso(release.first_seen_at)}",
                eligible_at=eligible_at,
            ),
        )


def _advisories(ctx: _Context) -> Iterator[Finding]:
    for hit in ctx.advisories:
        names = ", ".join((hit.advisory_id, *hit.aliases))
        if hit.waiver is not None:
            yield Finding("info", Reason("override", detail=f"{names} waived: {hit.waiver}"))
            continue
        found = f"{names} ({(hit.severity or 'unknown severity').lower()}): {hit.summary}"
        if hit.unevaluated:
            expected = "every advisory for this tool evaluated against this version"
            reason = Reason("advisory-unevaluated", expected, found, hit.detail)
        else:
            reason = Reason("advisory", "no advisory affecting this version", found, hit.detail)
        yield Finding(hit.action, reason)


Rule = Callable[[_Context], Iterator[Finding]]
RULES: tuple[Rule, ...] = (
    _manual_blocks,
    _release_state,
    _upstream_changes,
    _approved_versions,
    _digest,
    _cooldown,
    _advisories,
)


def time_boundaries(tool: ToolFacts, now: datetime) -> Iterator[datetime]:
    """Moments after `now` when the same facts may give another answer (expiry, cooldown end)."""
    for override in (*tool.blocks, *tool.approvals, *tool.waivers):
        if override.expires_at and override.expires_at > now:
            yield override.expires_at
    if tool.cooldown:
        for release in tool.releases.values():
            if (eligible_at := release.first_seen_at + tool.cooldown) > now:
                yield eligible_at


def _resolve(tool: ToolFacts, version: str) -> tuple[ReleaseFacts | None, str | None]:
    """The release a version names, and the commit when it is a full SHA (actions pinned by
    commit resolve to the release whose tag pointed at it)."""
    if (release := tool.releases.get(version)) is not None:
        return release, None
    if _FULL_SHA.fullmatch(version):
        commit = version.lower()
        key = tool.by_commit.get(commit)
        return (tool.releases.get(key) if key is not None else None), commit
    return None, None


def decide(
    query: Query,
    tool: ToolFacts | None,
    unknown: Literal["deny", "warn"],
    now: datetime,
    advisories: Sequence[AdvisoryHit] = (),
) -> Decision:
    """Answer `query` from the facts; `unknown` is the policy for tools not in the inventory.

    `advisories` are the advisories affecting the queried version (see `AdvisoryHit`).
    """
    if tool is None:
        reason = Reason("not-in-inventory", "a tool configured in the inventory", query.tool)
        outcome: Outcome = "deny" if unknown == "deny" else "warn"
        return Decision(outcome, query.tool, query.version, (reason,), would_deny=outcome == "warn")
    version = canonical_version(query.version)
    approvals = tuple(
        a
        for a in tool.approvals
        if a.active(now) and a.version is not None and canonical_version(a.version) == version
    )
    release, commit = _resolve(tool, version)
    ctx = _Context(query, tool, release, approvals, now, tuple(advisories), commit)
    findings = [finding for rule in RULES for finding in rule(ctx)]
    denies = [f.reason for f in findings if f.severity == "deny"]
    warns = [f.reason for f in findings if f.severity == "warn"]
    infos = [f.reason for f in findings if f.severity == "info"]
    if denies:
        outcome = "deny" if tool.mode == "enforce" else "warn"
        reasons = (*denies, *warns)
    else:
        outcome = "warn" if warns else "allow"
        reasons = (*warns, *infos)
    known = ctx.known_digests()
    if query.sha256 in known:
        digest = query.sha256
    else:
        digest = next(iter(known)) if len(known) == 1 else None
    return Decision(
        outcome,
        tool.name,
        query.version,
        tuple(reasons),
        sha256=digest,
        would_deny=bool(denies) and outcome == "warn",
    )


def newest_allowed(
    tool: ToolFacts,
    now: datetime,
    advisories: Callable[[str], Sequence[AdvisoryHit]] = lambda _version: (),
) -> str | None:
    """The newest known version that is allowed outright now (a runner's fallback)."""
    candidates = {release.version for release in tool.releases.values()}
    candidates.update(a.version for a in tool.approvals if a.version and a.active(now))
    parsed = [(parse_version(v), v) for v in candidates]
    for _, version in sorted(((p, v) for p, v in parsed if p is not None), reverse=True):
        decision = decide(Query(tool.name, version), tool, "deny", now, advisories(version))
        if decision.outcome == "allow":
            return version
    return None
