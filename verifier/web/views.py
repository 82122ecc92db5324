"""What the incident, exposure and audit pages and the overview's status panels show: a few
indexed store reads each, never one query per tool or version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, and_, or_, select
from sqlmodel import Session

from advisories import feed_states
from verifier.advisory_feeds import stale_feeds
from verifier.alerts.outbox import count_by_status, incident_exposure
from verifier.config import Config
from verifier.exposure import Exposure, find_exposure, judge_exposure, judge_named
from verifier.incidents import list_incidents
from verifier.policy import Decision, Query
from verifier.snapshot import Snapshot
from verifier.store.models import (
    AlertDeliveryRow,
    AlertRow,
    DecisionLogRow,
    IncidentRow,
)

AUDIT_PAGE = 50
MAX_ID = 2**31 - 1  # store ids are 32-bit integers on PostgreSQL


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
    detail = orjson.loads(incident.detail_json)
    if incident.version and incident.tool in snapshot.tools:
        decision = snapshot.answer(Query(incident.tool, incident.version)).decision
    exposure = judge_named(snapshot, exposure, incident.version, detail.get("sha256"))
    return IncidentPage(incident, detail, decision, exposure, deliveries)


# ---- exposure ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposureLine:
    incident: IncidentRow
    exposure: Exposure


def incident_exposures(engine: Engine, snapshot: Snapshot) -> list[ExposureLine]:
    """Who fetched what each open incident names (feed-stale incidents name no build)."""
    with Session(engine) as session:
        lines = [
            ExposureLine(
                incident,
                judge_named(
                    snapshot,
                    incident_exposure(session, incident),
                    incident.version,
                    orjson.loads(incident.detail_json).get("sha256"),
                ),
            )
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
    decision = snapshot.answer(Query(tool, version, sha256)).decision
    return ExposureLookup(judge_exposure(snapshot, exposure, decision.outcome), decision)


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
