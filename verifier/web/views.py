"""What each dashboard page shows, assembled from the snapshot and a few indexed store reads.

Inventory-wide figures (the overview's counts, the advisories matched to the inventory) come from
the snapshot and are computed once per snapshot; a page never runs one query per tool or version.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Engine, and_, or_, select
from sqlmodel import Session

from advisories import feed_states
from verifier.advisory_feeds import stale_feeds
from verifier.alerts.outbox import count_by_status, incident_exposure
from verifier.config import Config
from verifier.durations import format_duration
from verifier.exposure import Exposure, find_exposure
from verifier.incidents import list_incidents
from verifier.inventory_view import known_versions
from verifier.policy import Decision, Override, Query, Reason, decide
from verifier.reports.model import AssetEvidence, SignatureEvidence
from verifier.snapshot import Snapshot
from verifier.store.models import (
    AlertDeliveryRow,
    AlertRow,
    AssetPinRow,
    DecisionLogRow,
    EventRow,
    IncidentRow,
    ReleaseRow,
    TagPinRow,
)
from verifier.versioning import canonical_version

OUTCOMES = ("allow", "warn", "deny")
AUDIT_PAGE = 50
MAX_ID = 2**31 - 1  # store ids are 32-bit integers on PostgreSQL
TIMELINE_LIMIT = 100

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Summary(Generic[T]):
    """A value computed from one snapshot; `fresh` when that snapshot is the current one."""

    value: T
    revision: int
    fresh: bool


class PerSnapshot(Generic[T]):
    """`compute(snapshot)`, kept for the newest snapshot summarised (stale-while-revalidate).

    Inventory-wide summaries cost every version's decision (a few hundred ms at 20,000
    versions), so they are computed by one background thread: `prepare` starts the first (the
    login page calls it, so the summary is ready when the user is in); a request that finds the
    snapshot changed gets the previous summary at once (marked stale, with its revision) while
    the new one is computed. Only a request with no summary at all waits for it.
    """

    def __init__(self, compute: Callable[[Snapshot], T]) -> None:
        self._compute = compute
        self._slot: tuple[Snapshot, T] | None = None
        self._running = False
        self._done = threading.Condition()

    def _start(self, snapshot: Snapshot) -> None:
        """Summarise `snapshot` in the background unless a summary is being computed (locked)."""
        if not self._running:
            self._running = True
            thread = threading.Thread(
                target=self._refresh, args=(snapshot,), name="dashboard-summary", daemon=True
            )
            thread.start()

    def prepare(self, snapshot: Snapshot) -> None:
        """Start the first summary in the background (nothing to do once there is one)."""
        with self._done:
            if self._slot is None:
                self._start(snapshot)

    def __call__(self, snapshot: Snapshot) -> Summary[T]:
        with self._done:
            if self._slot is None:
                self._start(snapshot)
                self._done.wait_for(lambda: not self._running)
            slot = self._slot
            if slot is None:  # the computation failed (logged): try once more, in this request
                slot = self._slot = (snapshot, self._compute(snapshot))
            elif slot[0] is not snapshot:
                self._start(snapshot)
            return Summary(slot[1], slot[0].revision, slot[0] is snapshot)

    def _refresh(self, snapshot: Snapshot) -> None:
        value: tuple[Snapshot, T] | None = None
        try:
            value = (snapshot, self._compute(snapshot))
        except Exception:  # pages keep the previous summary; say why in the log
            log.exception("dashboard summary of revision %d failed", snapshot.revision)
        with self._done:
            if value is not None:
                self._slot = value
            self._running = False
            self._done.notify_all()


# ---- overview ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolRow:
    """One line of the overview: a tool and how many of its versions each outcome has."""

    name: str
    mode: str
    newest_allowed: str | None
    counts: dict[str, int]
    blocks: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Inventory:
    tools: tuple[ToolRow, ...]
    totals: dict[str, int]


def inventory_counts(snapshot: Snapshot) -> Inventory:
    """Every tool with the decision counts of its known versions.

    Only outcomes are needed, so this asks the policy as `Snapshot.answer` does but skips the
    answer's JSON body and memo: half the cost, and no 20,000 answers held for the API.
    """
    weigher, now = snapshot.weigher, snapshot.now
    rows, totals = [], Counter({outcome: 0 for outcome in OUTCOMES})
    for name in sorted(snapshot.tools):
        facts = snapshot.tools[name]
        counts = Counter({outcome: 0 for outcome in OUTCOMES})
        for version in known_versions(snapshot, name):
            hits = weigher.hits(facts, version, now) if weigher is not None else ()
            counts[decide(Query(name, version), facts, snapshot.unknown, now, hits).outcome] += 1
        totals.update(counts)
        blocks = sum(1 for block in facts.blocks if block.active(snapshot.now))
        rows.append(ToolRow(name, facts.mode, snapshot.newest.get(name), dict(counts), blocks))
    return Inventory(tuple(rows), dict(totals))


@dataclass(frozen=True, slots=True)
class FeedView:
    name: str
    type: str
    last_success_at: datetime | None
    last_error: str | None
    stale: bool


def feed_views(engine: Engine, config: Config, now: datetime) -> list[FeedView]:
    """Each configured feed's freshness (the same staleness rule as /readyz)."""
    states = {state.feed: state for state in feed_states(engine)}
    stale = set(stale_feeds(states.values(), config, now))
    views = []
    for feed in config.feeds:
        state = states.get(feed.name)
        views.append(
            FeedView(
                feed.name,
                feed.type,
                state.last_success_at if state else None,
                state.last_error if state else None,
                feed.name in stale,
            )
        )
    return views


def open_incidents(engine: Engine) -> list[IncidentRow]:
    with Session(engine) as session:
        rows = list_incidents(session)
        session.expunge_all()
    return rows


def alert_backlog(engine: Engine) -> dict[str, int]:
    """Alert deliveries by status (every status present, zero when none)."""
    return {"pending": 0, "sent": 0, "dead": 0, **count_by_status(engine)}


# ---- tool page -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """How a release was verified, as the watcher recorded it (in the reports' terms)."""

    signatures: tuple[SignatureEvidence, ...] = ()
    assets: tuple[AssetEvidence, ...] = ()
    source_commit: str | None = None
    source_branch: str | None = None
    changes: tuple[Reason, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.signatures or self.assets or self.source_commit or self.changes)


def evidence_view(evidence_json: str, pins: dict[str, AssetPinRow]) -> Evidence:
    """A release's stored evidence; `pins`: its files as first seen, by name."""
    raw = orjson.loads(evidence_json or "{}")
    signatures = tuple(
        SignatureEvidence(
            asset=name,
            signer=sig.get("signer"),
            issuer=sig.get("issuer"),
            repository=sig.get("repository"),
            workflow=sig.get("workflow"),
            ref=sig.get("ref"),
            source_commit=sig.get("source_commit"),
            rekor_log_index=sig.get("rekor_log_index"),
            integrated_time=sig.get("integrated_time"),
        )
        for name, sig in sorted((raw.get("signatures") or {}).items())
    )
    assets = tuple(
        AssetEvidence(
            name=name,
            sha256=asset.get("sha256") or "",
            size=asset.get("size"),
            checksum_source=asset.get("checksum_source"),
            published_digest=pins[name].digest if name in pins else None,
            first_seen_at=pins[name].first_seen_at if name in pins else None,
        )
        for name, asset in sorted((raw.get("assets") or {}).items())
    )
    changes = tuple(Reason(**change) for change in raw.get("changes") or ())
    return Evidence(signatures, assets, raw.get("source_commit"), raw.get("source_branch"), changes)


@dataclass(frozen=True, slots=True)
class VersionView:
    """One known version of a tool: what runners are told now, and what toolgate saw."""

    version: str
    decision: Decision
    status: str | None  # pending | verified | rejected; None: known only from an approval
    first_seen_at: datetime | None
    verified_at: datetime | None
    commit: str | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str
    incident_id: int | None = None


@dataclass
class ToolPage:
    name: str
    source: str | None
    kind: str | None
    mode: str
    approved: tuple[str, ...]
    cooldown: str
    newest_allowed: str | None
    versions: list[VersionView]
    overrides: list[Override]
    asset_pins: list[AssetPinRow]
    tag_pins: list[TagPinRow]
    incidents: list[IncidentRow]
    timeline: list[TimelineEntry] = field(default_factory=list)


def tool_page(engine: Engine, config: Config, snapshot: Snapshot, name: str) -> ToolPage:
    """A tool with each known version's decision, evidence, pins and history (5 queries)."""
    facts = snapshot.tools[name]
    tool_config = next((tool for tool in config.tools if tool.name == name), None)
    with Session(engine) as session:
        releases = {
            canonical_version(row.version): row
            for row in session.scalars(select(ReleaseRow).where(ReleaseRow.tool == name))
        }
        asset_pins = list(
            session.scalars(
                select(AssetPinRow)
                .where(AssetPinRow.tool == name)
                .order_by(AssetPinRow.version, AssetPinRow.name)
            )
        )
        tag_pins = list(
            session.scalars(select(TagPinRow).where(TagPinRow.tool == name).order_by(TagPinRow.tag))
        )
        incidents = list(
            session.scalars(
                select(IncidentRow)
                .where(IncidentRow.tool == name)
                .order_by(IncidentRow.updated_at.desc(), IncidentRow.id.desc())
            )
        )
        events = list(
            session.scalars(
                select(EventRow)
                .where(or_(EventRow.target == name, EventRow.target.startswith(f"{name} ")))
                .order_by(EventRow.at.desc())
                .limit(TIMELINE_LIMIT)
            )
        )
        session.expunge_all()
    pins_of: dict[str, dict[str, AssetPinRow]] = {}
    for pin in asset_pins:
        pins_of.setdefault(canonical_version(pin.version), {})[pin.name] = pin
    versions = []
    for version in reversed(known_versions(snapshot, name)):
        key = canonical_version(version)
        release = releases.get(key)
        versions.append(
            VersionView(
                version,
                snapshot.answer(Query(name, version)).decision,
                release.status if release else None,
                release.first_seen_at if release else None,
                release.verified_at if release else None,
                release.commit if release else None,
                evidence_view(release.evidence_json, pins_of.get(key, {}))
                if release
                else Evidence(),
            )
        )
    overrides = [o for o in (*facts.blocks, *facts.approvals) if o.active(snapshot.now)]
    page = ToolPage(
        name=name,
        source=tool_config.source if tool_config else None,
        kind=tool_config.kind if tool_config else None,
        mode=facts.mode,
        approved=tuple(facts.approved.entries),
        cooldown=format_duration(facts.cooldown),
        newest_allowed=snapshot.newest.get(name),
        versions=versions,
        overrides=overrides,
        asset_pins=asset_pins,
        tag_pins=tag_pins,
        incidents=incidents,
    )
    page.timeline = _timeline(releases.values(), incidents, events)
    return page


def _timeline(
    releases: Iterable[ReleaseRow], incidents: list[IncidentRow], events: list[EventRow]
) -> list[TimelineEntry]:
    """Releases seen and verified, incidents opened and resolved, operators' actions: newest
    first."""
    entries = []
    for release in releases:
        version = release.version
        entries.append(TimelineEntry(release.first_seen_at, "seen", f"{version} first seen"))
        if release.verified_at is not None:
            status = release.status
            entries.append(TimelineEntry(release.verified_at, status, f"{version} {status}"))
    for incident in incidents:
        entries.append(TimelineEntry(incident.opened_at, "incident", incident.summary, incident.id))
        if incident.resolved_at is not None:
            text = f"resolved: {incident.summary}"
            entries.append(TimelineEntry(incident.resolved_at, "resolved", text, incident.id))
    for event in events:
        detail = orjson.loads(event.detail_json)
        why = f": {detail['reason']}" if detail.get("reason") else ""
        text = f"{event.action} {event.target} by {event.actor}{why}"
        entries.append(TimelineEntry(event.at, event.action, text))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:TIMELINE_LIMIT]


# ---- incidents -----------------------------------------------------------------------------


def incident_list(engine: Engine, *, open_only: bool) -> list[IncidentRow]:
    with Session(engine) as session:
        rows = list_incidents(session, open_only=open_only)
        session.expunge_all()
    return rows


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery: AlertDeliveryRow
    alert: AlertRow


@dataclass(frozen=True, slots=True)
class IncidentPage:
    incident: IncidentRow
    detail: dict[str, Any]
    decision: Decision | None  # what runners are told now for the incident's version
    exposure: Exposure
    deliveries: list[DeliveryView]


def incident_page(engine: Engine, snapshot: Snapshot, incident_id: int) -> IncidentPage | None:
    with Session(engine) as session:
        incident = session.get(IncidentRow, incident_id)
        if incident is None:
            return None
        exposure = incident_exposure(session, incident)
        pairs = session.execute(
            select(AlertDeliveryRow, AlertRow)
            .join(AlertRow, AlertRow.id == AlertDeliveryRow.alert_id)  # type: ignore[arg-type]
            .where(AlertRow.incident_id == incident_id)
            .order_by(AlertDeliveryRow.id.desc())  # type: ignore[union-attr]
        ).all()
        deliveries = [DeliveryView(delivery, alert) for delivery, alert in pairs]
        session.expunge_all()
    decision = None
    if incident.version and incident.tool in snapshot.tools:
        decision = snapshot.answer(Query(incident.tool, incident.version)).decision
    detail = orjson.loads(incident.detail_json)
    return IncidentPage(incident, detail, decision, exposure, deliveries)


# ---- advisories ----------------------------------------------------------------------------


@dataclass
class AdvisoryView:
    """An advisory that affects inventory versions, with how the policy weighs it."""

    advisory_id: str
    aliases: tuple[str, ...]
    severity: str | None
    action: str
    summary: str
    detail: str
    affected: list[tuple[str, str, str | None]] = field(default_factory=list)  # tool, ver, waiver


def matched_advisories(snapshot: Snapshot) -> list[AdvisoryView]:
    """Every advisory affecting a version the inventory knows, most severe action first."""
    found: dict[str, AdvisoryView] = {}
    weigher = snapshot.weigher
    if weigher is None:
        return []
    for name in sorted(snapshot.tools):
        tool = snapshot.tools[name]
        for version in known_versions(snapshot, name):
            for hit in weigher.hits(tool, version, snapshot.now):
                view = found.get(hit.advisory_id)
                if view is None:
                    view = found[hit.advisory_id] = AdvisoryView(
                        hit.advisory_id,
                        hit.aliases,
                        hit.severity,
                        hit.action,
                        hit.summary,
                        hit.detail,
                    )
                view.affected.append((name, version, hit.waiver))
    return sorted(found.values(), key=lambda v: (v.action != "deny", v.advisory_id))


# ---- exposure ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposureLine:
    incident: IncidentRow
    exposure: Exposure


def incident_exposures(engine: Engine) -> list[ExposureLine]:
    """Who fetched what each open incident names (feed-stale incidents name no build)."""
    with Session(engine) as session:
        lines = [
            ExposureLine(incident, incident_exposure(session, incident))
            for incident in list_incidents(session)
            if incident.tool != "*"
        ]
        session.expunge_all()
    return lines


@dataclass(frozen=True, slots=True)
class ExposureLookup:
    exposure: Exposure
    decision: Decision  # what runners are told now for that build


def lookup_exposure(
    engine: Engine, snapshot: Snapshot, tool: str, version: str, sha256: str | None
) -> ExposureLookup:
    """Who fetched `tool version` (or those bytes), and what runners are told for it now."""
    with Session(engine) as session:
        exposure = find_exposure(session, tool, version, sha256=sha256)
    return ExposureLookup(exposure, snapshot.answer(Query(tool, version, sha256)).decision)


# ---- audit ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilters:
    tool: str | None = None
    runner: str | None = None
    decision: str | None = None  # allow | warn | deny | would-deny
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    records: list[DecisionLogRow]
    next_cursor: str | None  # "<id>" of the last record shown, when there are more


def audit_page(
    engine: Engine,
    filters: AuditFilters,
    before: tuple[datetime, int] | None,
    limit: int = AUDIT_PAGE,
) -> AuditPage:
    """One page of decisions, newest first; `before` is the (at, id) the previous page ended at
    (keyset paging: every page costs the same however deep)."""
    log = DecisionLogRow
    statement = select(log).order_by(log.at.desc(), log.id.desc())  # type: ignore[union-attr]
    if filters.tool:
        statement = statement.where(log.tool == filters.tool)
    if filters.runner:
        statement = statement.where(log.runner == filters.runner)
    if filters.decision == "would-deny":
        statement = statement.where(log.would_deny.is_(True))  # type: ignore[attr-defined]
    elif filters.decision:
        statement = statement.where(log.decision == filters.decision)
    if filters.since:
        statement = statement.where(log.at >= filters.since)
    if before:
        at, row_id = before
        statement = statement.where(
            or_(log.at < at, and_(log.at == at, log.id < row_id))  # type: ignore[operator]
        )
    with Session(engine) as session:
        rows = list(session.scalars(statement.limit(limit + 1)))
        session.expunge_all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{rows[-1].at.isoformat()}~{rows[-1].id}" if more and rows else None
    return AuditPage(rows, cursor)


def parse_cursor(text: str) -> tuple[datetime, int]:
    """The (at, id) of an audit page cursor; ValueError if it is not one."""
    at, sep, row_id = text.partition("~")
    if not sep:
        raise ValueError("not an audit page cursor")
    moment, number = datetime.fromisoformat(at), int(row_id)
    if moment.tzinfo is None or not 0 < number <= MAX_ID:
        raise ValueError("not an audit page cursor")
    return moment, number
