"""Read report data from the store, in bulk, as the frozen values of `verifier.reports.model`.

Decisions come from a policy snapshot compiled for the report's explicit `now` (the same rules
the API answers with); evidence comes from the release, pin and baseline tables, each read with
one query whatever the size of the inventory.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from verifier.advisory_feeds import load_weigher
from verifier.advisory_policy import AdvisoryWeigher, feed_hit
from verifier.config import Config
from verifier.exposure import EXPOSING_DECISIONS, ExposedRunner
from verifier.inventory import load_tool_facts
from verifier.policy import AdvisoryHit, Override, Query, ToolFacts
from verifier.reports.model import (
    AdvisoryMatch,
    AssetEvidence,
    AuditDecision,
    AuditEvent,
    AuditTrail,
    EvidenceBaseline,
    ExposureEntry,
    Inventory,
    TagPin,
    ToolReport,
    VersionReport,
    attestation_evidence,
    signature_evidence,
)
from verifier.snapshot import Snapshot, Verdict, compile_snapshot
from verifier.store.models import (
    AssetPinRow,
    DecisionLogRow,
    EventRow,
    EvidenceBaselineRow,
    ReleaseRow,
    TagPinRow,
    ToolRow,
)
from verifier.store.revision import read_revision
from verifier.versioning import canonical_version, parse_version

AUDIT_WINDOW = timedelta(days=7)
AUDIT_LIMIT = 10_000

_RELEASE = ReleaseRow.__table__.c  # type: ignore[attr-defined]
_ASSET_PIN = AssetPinRow.__table__.c  # type: ignore[attr-defined]
_TAG_PIN = TagPinRow.__table__.c  # type: ignore[attr-defined]
_TOOL = ToolRow.__table__.c  # type: ignore[attr-defined]
_LOG = DecisionLogRow.__table__.c  # type: ignore[attr-defined]
_EVENT = EventRow.__table__.c  # type: ignore[attr-defined]


def report_snapshot(
    engine: Engine, config: Config, now: datetime, weigher: AdvisoryWeigher | None = None
) -> Snapshot:
    """The policy snapshot of the store's facts, with decisions computed for `now`."""
    weigher = weigher if weigher is not None else load_weigher(engine, config)
    with Session(engine) as session:
        revision = read_revision(session)
        tools = load_tool_facts(session, config)
    return compile_snapshot(revision, now, now, config.policy.unknown, tools, {}, weigher)


def _version_order(version: str) -> tuple[int, Any, str]:
    """Newest first: PEP 440 versions descending, then the rest by name."""
    parsed = parse_version(version)
    return (0, _Descending(parsed), version) if parsed is not None else (1, None, version)


class _Descending:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def release_url(source: str, version: str) -> str | None:
    """Where a release is published, from the tool's `source`."""
    kind, _, where = source.partition(":")
    if kind == "github":
        return f"https://github.com/{where}/releases/tag/{version}"
    if kind == "pypi":
        return f"https://pypi.org/project/{where}/{canonical_version(version)}/"
    if kind == "url":
        return where.replace("{version}", canonical_version(version))
    return None


def _advisory(hit: AdvisoryHit) -> AdvisoryMatch:
    state = "waived" if hit.waiver is not None else hit.action
    return AdvisoryMatch(
        hit.advisory_id,
        hit.aliases,
        hit.severity,
        hit.action,
        hit.summary,
        hit.detail,
        hit.waiver,
        state,
        hit.unevaluated,
    )


class _StoreEvidence:
    """Release rows, asset pins, tag pins and baselines, each read once and indexed."""

    def __init__(self, session: Session) -> None:
        self.releases: dict[tuple[str, str], Any] = {}
        for row in session.execute(
            select(
                _RELEASE.tool,
                _RELEASE.version,
                _RELEASE.verified_at,
                _RELEASE.commit,
                _RELEASE.evidence_json,
            )
        ):
            self.releases[(row.tool, canonical_version(row.version))] = row
        self.asset_pins: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
        for pin in session.execute(
            select(
                _ASSET_PIN.tool,
                _ASSET_PIN.version,
                _ASSET_PIN.name,
                _ASSET_PIN.digest,
                _ASSET_PIN.first_seen_at,
            )
        ):
            self.asset_pins[(pin.tool, canonical_version(pin.version))][pin.name] = pin
        self.tag_pins: dict[tuple[str, str], TagPin] = {}
        for tag in session.execute(select(_TAG_PIN)):
            self.tag_pins[(tag.tool, canonical_version(tag.tag))] = TagPin(
                tag.tag, tag.commit, tag.current_commit, tag.first_seen_at, tag.moved_at
            )
        self.sources = {
            name: (source, kind)
            for name, source, kind in session.execute(select(_TOOL.name, _TOOL.source, _TOOL.kind))
        }
        self.baselines = {
            row.tool: _baseline(row) for row in session.scalars(select(EvidenceBaselineRow))
        }


def _baseline(row: EvidenceBaselineRow) -> EvidenceBaseline:
    profile = orjson.loads(row.profile_json)
    return EvidenceBaseline(
        version=row.version,
        signed=bool(profile.get("signed")),
        checksums=bool(profile.get("checksums")),
        attested=bool(profile.get("attested")),
        signer=profile.get("signer"),
        issuer=profile.get("issuer"),
        accepted_at=row.accepted_at,
        accepted_by=row.accepted_by,
        reason=row.reason,
    )


def _overrides_of(facts: ToolFacts, now: datetime) -> tuple[Override, ...]:
    active = [o for o in (*facts.approvals, *facts.blocks, *facts.waivers) if o.active(now)]
    return tuple(sorted(active, key=lambda o: (o.kind, o.id)))


def _advisories(hits: tuple[AdvisoryHit, ...]) -> tuple[AdvisoryMatch, ...]:
    return tuple(sorted((_advisory(hit) for hit in hits), key=lambda match: match.advisory_id))


def _names_version(override: Override, key: str) -> bool:
    return override.kind != "waive" and (
        override.version is None or canonical_version(override.version) == key
    )


def _version_report(
    facts: ToolFacts,
    source: str,
    verdict: Verdict,
    store: _StoreEvidence,
    overrides: tuple[Override, ...],
) -> VersionReport:
    version, decision, hits = verdict.version, verdict.decision, verdict.hits
    key = canonical_version(version)
    release = facts.releases.get(key)
    row = store.releases.get((facts.name, key))
    evidence = orjson.loads(row.evidence_json) if row is not None else {}
    pins = store.asset_pins.get((facts.name, key), {})
    checked = evidence.get("assets", {})
    assets = []
    for name, sha256 in sorted(release.assets.items()) if release else ():
        check, pin = checked.get(name) or {}, pins.get(name)
        assets.append(
            AssetEvidence(
                name,
                sha256,
                check.get("size"),
                check.get("checksum_source"),
                pin.digest if pin is not None else None,
                pin.first_seen_at if pin is not None else None,
            )
        )
    return VersionReport(
        tool=facts.name,
        version=version,
        status=release.status if release else "approved",
        decision=decision.outcome,
        reasons=decision.reasons,
        first_seen_at=release.first_seen_at if release else None,
        verified_at=row.verified_at if row is not None else None,
        commit=(row.commit if row is not None else None) or evidence.get("source_commit"),
        source_branch=evidence.get("source_branch"),
        assets=tuple(assets),
        signatures=signature_evidence(evidence) if evidence else (),
        attestations=attestation_evidence(evidence) if evidence else (),
        tag_pin=store.tag_pins.get((facts.name, key)),
        advisories=_advisories(hits) if hits else (),
        overrides=tuple(o for o in overrides if _names_version(o, key)) if overrides else (),
        release_url=release_url(source, version),
    )


def collect_inventory(engine: Engine, snapshot: Snapshot) -> Inventory:
    """Every inventory tool and each known version with its decision, reasons and evidence."""
    with Session(engine) as session:
        store = _StoreEvidence(session)
    tools = []
    for name in sorted(snapshot.tools):
        facts = snapshot.tools[name]
        source, kind = store.sources.get(name, ("", "binary"))
        overrides = _overrides_of(facts, snapshot.now)
        verdicts = sorted(snapshot.verdicts(name), key=lambda v: _version_order(v.version))
        tools.append(
            ToolReport(
                name=name,
                source=source,
                kind=kind,
                mode=facts.mode,
                approved=facts.approved.entries,
                cooldown_seconds=facts.cooldown.total_seconds(),
                newest_allowed=snapshot.newest.get(name),
                versions=tuple(
                    _version_report(facts, source, v, store, overrides) for v in verdicts
                ),
                overrides=overrides,
                baseline=store.baselines.get(name),
            )
        )
    feed_hits: tuple[tuple[str, AdvisoryMatch], ...] = ()
    if snapshot.weigher is not None:
        feed_hits = tuple(
            sorted(
                (
                    (hit.tool, _advisory(feed_hit(hit)))
                    for hit in snapshot.weigher.unversioned_feed_hits
                ),
                key=lambda pair: (pair[0], pair[1].advisory_id),
            )
        )
    return Inventory(snapshot.now, snapshot.revision, tuple(tools), feed_hits)


def collect_exposure(engine: Engine, snapshot: Snapshot) -> tuple[ExposureEntry, ...]:
    """Versions runners were allowed or warned to fetch that are not allowed now, and by whom.

    One grouped query over the audit trail; `0.69.4` and `v0.69.4` count as one version. A
    fetch that named a digest still allowed now got the genuine build: it is not exposure.
    """
    first = func.min(_LOG.at)
    build = (_LOG.tool, _LOG.version, _LOG.sha256, _LOG.token_name, _LOG.runner, _LOG.job)
    statement = (
        select(*build, first)
        .add_columns(func.max(_LOG.at), func.count())
        .where(_LOG.decision.in_(EXPOSING_DECISIONS), _LOG.at <= snapshot.now)
        .group_by(*build)
    )
    grouped: dict[tuple[str, str], dict[tuple[str, str, str], ExposedRunner]] = defaultdict(dict)
    with Session(engine) as session:
        rows = session.execute(statement).all()
    for tool, version, sha256, token, runner, job, first_at, last_at, count in rows:
        if tool not in snapshot.tools:
            continue
        if sha256 and snapshot.answer(Query(tool, version, sha256)).decision.outcome == "allow":
            continue  # the genuine build, positively verified
        runners = grouped[(tool, canonical_version(version))]
        identity = (token, runner or "", job or "")
        seen = runners.get(identity)
        if seen is not None:  # another spelling of the same version, or another build of it
            first_at, last_at = min(first_at, seen.first_fetch), max(last_at, seen.last_fetch)
            count += seen.fetches
        runners[identity] = ExposedRunner(token, runner, job, first_at, last_at, int(count))
    entries = []
    for (tool, version), runners in grouped.items():
        decision = snapshot.answer(Query(tool, version)).decision
        if decision.outcome == "allow":
            continue
        ordered = sorted(runners.values(), key=lambda r: (r.first_fetch, r.identity))
        entries.append(
            ExposureEntry(tool, version, decision.outcome, decision.reasons, tuple(ordered))
        )
    entries.sort(key=lambda e: (e.tool, _version_order(e.version)))
    return tuple(entries)


def collect_audit(
    engine: Engine, now: datetime, window: timedelta = AUDIT_WINDOW, limit: int = AUDIT_LIMIT
) -> AuditTrail:
    """Decisions (at most `limit`) and operator actions of the `window` before `now`."""
    since = now - window
    with Session(engine) as session:
        rows = session.execute(
            select(
                _LOG.at,
                _LOG.token_name,
                _LOG.runner,
                _LOG.job,
                _LOG.tool,
                _LOG.version,
                _LOG.sha256,
                _LOG.decision,
                _LOG.would_deny,
                _LOG.reasons_json,
            )
            .where(_LOG.at >= since, _LOG.at <= now)
            .order_by(_LOG.at.desc(), _LOG.id.desc())
            .limit(limit + 1)
        ).all()
        events = session.execute(
            select(_EVENT.at, _EVENT.actor, _EVENT.action, _EVENT.target, _EVENT.detail_json)
            .where(_EVENT.at >= since, _EVENT.at <= now)
            .order_by(_EVENT.at.desc(), _EVENT.id.desc())
        ).all()
    decisions = tuple(
        AuditDecision(
            at=row.at,
            token_name=row.token_name,
            runner=row.runner,
            job=row.job,
            tool=row.tool,
            version=row.version,
            sha256=row.sha256,
            decision=row.decision,
            would_deny=bool(row.would_deny),
            reason_codes=tuple(r["code"] for r in orjson.loads(row.reasons_json)),
        )
        for row in rows[:limit]
    )
    return AuditTrail(
        since=since,
        until=now,
        decisions=decisions,
        events=tuple(AuditEvent(e.at, e.actor, e.action, e.target, e.detail_json) for e in events),
        truncated=len(rows) > limit,
    )
