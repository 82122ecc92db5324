"""The outbox in the store: alerts written with their incident, deliveries claimed with a lease.

Claims are one conditional UPDATE over a sub-select of due rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so replicas never wait on each other; SQLite serialises writers, and the conditions
are re-checked under its write lock). A lease that runs out (a crashed sender) makes its rows due
again: delivery is at least once, under ids receivers dedupe on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from verifier.alerts.routing import Target, digest_window_end
from verifier.errors import NotFoundError
from verifier.exposure import Exposure, find_exposure
from verifier.store.events import record_event
from verifier.store.models import AlertDeliveryRow, AlertRow, IncidentRow

log = logging.getLogger(__name__)

_ALERT = AlertRow.__table__  # type: ignore[attr-defined]
_DELIVERY = AlertDeliveryRow.__table__  # type: ignore[attr-defined]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def incident_exposure(session: Session, incident: IncidentRow | AlertRow) -> Exposure:
    """The runners exposed to what an incident (or the alert made of it) names."""
    detail = orjson.loads(incident.detail_json)
    return find_exposure(
        session,
        incident.tool,
        incident.version,
        sha256=detail.get("sha256"),
        commit=detail.get("commit"),
    )


def _news(session: Session, incident: IncidentRow) -> AlertRow | None:
    """The alert the incident's current state calls for, unless it was alerted (not added).

    News is a state not alerted yet: a new incident, a material change (new fingerprint), or
    runners exposed since the last alert of the same fingerprint.
    """
    assert incident.id is not None
    exposure = incident_exposure(session, incident)
    key = _digest(incident.dedupe_key, incident.fingerprint, exposure.key())
    if session.scalar(select(AlertRow.id).where(AlertRow.dedupe_key == key)) is not None:
        return None
    previous = session.scalars(
        select(AlertRow)
        .where(AlertRow.incident_id == incident.id, AlertRow.fingerprint == incident.fingerprint)
        .order_by(AlertRow.id.desc())
        .limit(1)
    ).first()
    if previous is not None:
        known = Exposure.from_dict(orjson.loads(previous.exposure_json)).identities()
        if exposure.identities() <= known:
            return None
    return AlertRow(
        dedupe_key=key,
        incident_id=incident.id,
        fingerprint=incident.fingerprint,
        kind=incident.kind,
        tool=incident.tool,
        version=incident.version,
        severity=incident.severity,
        summary=incident.summary,
        detail_json=incident.detail_json,
        exposure_json=orjson.dumps(exposure.to_dict()).decode(),
    )


def enqueue_alert(session: Session, incident: IncidentRow) -> AlertRow | None:
    """Add an alert for the incident's current state to the caller's transaction, if it is news.

    Returns the alert, or None when this state was alerted already.
    """
    row = _news(session, incident)
    if row is not None:
        session.add(row)
        session.flush()
    return row


def enqueue_new_exposure(engine: Engine) -> int:
    """Alert again on open incidents whose exposure grew (late audit records, warn mode).

    Reads in one transaction and writes in another that starts with its write, so on SQLite it
    waits for the write lock instead of failing when another connection wrote in between.
    """
    with Session(engine) as session:
        incidents = session.scalars(select(IncidentRow).where(IncidentRow.resolved_at.is_(None)))
        news = [row for incident in incidents.all() if (row := _news(session, incident))]
    if news:
        with engine.begin() as connection:
            values = [row.model_dump(exclude={"id"}) for row in news]
            connection.execute(insert_ignore(connection.dialect.name, _ALERT, values))
    return len(news)


Plan = Callable[[AlertRow], tuple[str, list[Target]]]


def route_alerts(engine: Engine, plan: Plan, now: datetime, limit: int = 500) -> int:
    """Turn unrouted alerts into deliveries (`plan(alert)` names the targets and the action).

    Idempotent: a delivery's key is unique, so two replicas routing one alert add it once.
    """
    with Session(engine) as session:
        alerts = session.scalars(
            select(AlertRow).where(AlertRow.routed_at.is_(None)).order_by(AlertRow.id).limit(limit)
        ).all()
        session.expunge_all()
    if not alerts:
        return 0
    rows = []
    for alert in alerts:
        action, targets = plan(alert)
        rows.extend(_delivery(alert, target, action, now) for target in targets)
    columns = _ALERT.c
    with engine.begin() as connection:
        if rows:
            connection.execute(insert_ignore(connection.dialect.name, _DELIVERY, rows))
        connection.execute(
            update(_ALERT)
            .where(columns.id.in_([alert.id for alert in alerts]), columns.routed_at.is_(None))
            .values(routed_at=now)
        )
    return len(alerts)


def _delivery(alert: AlertRow, target: Target, action: str, now: datetime) -> dict[str, Any]:
    due_at, digest_key = now, None
    if target.digest:
        due_at = digest_window_end(now, target.digest)
        digest_key = f"{target.name}|{due_at.isoformat()}"
    return {
        "dedupe_key": _digest(alert.dedupe_key, target.channel, target.name),
        "alert_id": alert.id,
        "channel": target.channel,
        "target": target.name,
        "action": action,
        "digest_key": digest_key,
        "status": "pending",
        "attempts": 0,
        "due_at": due_at,
        "created_at": now,
    }


def insert_ignore(dialect: str, table: Any, rows: list[dict[str, Any]]) -> Any:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING: what another replica added stays once."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this sender holds the lease of, with the alert it carries."""

    delivery: AlertDeliveryRow
    alert: AlertRow


def _claimable(now: datetime) -> Any:
    columns = _DELIVERY.c
    return and_(
        columns.status == "pending",
        columns.due_at <= now,
        or_(columns.lease_until.is_(None), columns.lease_until < now),
    )


def claim(engine: Engine, token: str, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Lease up to `limit` due deliveries to `token` (unique per claim); return them."""
    columns = _DELIVERY.c
    due = select(columns.id).where(_claimable(now)).order_by(columns.due_at, columns.id)
    due = due.limit(limit)
    if engine.dialect.name == "postgresql":
        # A materialized CTE runs once: as an IN (sub-select), the planner may re-run the
        # sub-select per row of a semi-join, locking (and claiming) every due row, not `limit`.
        due = select(
            due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED").c.id
        )
    with Session(engine) as session:
        # Look before taking the write lock: an idle sender must not take SQLite's write lock
        # every pass (a writer there makes other connections' read-then-write transactions fail).
        if session.scalar(select(columns.id).where(_claimable(now)).limit(1)) is None:
            return []
        session.commit()
        session.execute(
            update(_DELIVERY)
            .where(columns.id.in_(due.scalar_subquery()), _claimable(now))
            .values(lease_owner=token, lease_until=now + lease)
        )
        session.commit()
        pairs = session.execute(
            select(AlertDeliveryRow, AlertRow)
            .join(AlertRow, AlertRow.id == AlertDeliveryRow.alert_id)  # type: ignore[arg-type]
            .where(AlertDeliveryRow.lease_owner == token)
            .order_by(AlertDeliveryRow.id)  # type: ignore[arg-type]
        ).all()
        session.expunge_all()
    return [Claimed(delivery, alert) for delivery, alert in pairs]


def mark_sent(engine: Engine, token: str, ids: list[int], now: datetime) -> int:
    """Record deliveries as sent; returns how many were still leased to `token`."""
    columns = _DELIVERY.c
    with engine.begin() as connection:
        result = connection.execute(
            update(_DELIVERY)
            .where(columns.id.in_(ids), columns.lease_owner == token)
            .values(
                status="sent",
                sent_at=now,
                attempts=columns.attempts + 1,  # the try that succeeded counts
                lease_owner=None,
                lease_until=None,
                last_error=None,
            )
        )
    if result.rowcount != len(ids):
        log.warning(
            "lost the lease of %d sent alert deliveries: another sender may send them again "
            "(receivers dedupe on the Message-ID / delivery id)",
            len(ids) - result.rowcount,
        )
    return int(result.rowcount)


def mark_failed(
    engine: Engine,
    token: str,
    ids: list[int],
    error: str,
    retry_at: datetime,
    max_attempts: int,
) -> list[int]:
    """Count a failed attempt, due again at `retry_at`; returns the ids now dead (no more tries)."""
    columns = _DELIVERY.c
    mine = and_(columns.id.in_(ids), columns.lease_owner == token)
    with engine.begin() as connection:
        connection.execute(
            update(_DELIVERY)
            .where(mine)
            .values(
                attempts=columns.attempts + 1,
                due_at=retry_at,
                last_error=error[:2000],
                lease_owner=None,
                lease_until=None,
            )
        )
        dead = list(
            connection.scalars(
                update(_DELIVERY)
                .where(
                    columns.id.in_(ids),
                    columns.status == "pending",
                    columns.attempts >= max_attempts,
                )
                .values(status="dead")
                .returning(columns.id)
            )
        )
    return dead


def sent_history(
    engine: Engine, incident_ids: set[int]
) -> tuple[set[int], dict[tuple[int, str, str], str]]:
    """The incidents among `incident_ids` that are resolved, and for each (incident, channel,
    target) the action of the last delivery sent there (to know who heard a claim)."""
    if not incident_ids:
        return set(), {}
    columns = _DELIVERY.c
    with engine.connect() as connection:
        resolved = set(
            connection.scalars(
                select(IncidentRow.id).where(
                    IncidentRow.id.in_(incident_ids),  # type: ignore[union-attr]
                    IncidentRow.resolved_at.is_not(None),  # type: ignore[union-attr]
                )
            )
        )
        rows = connection.execute(
            select(_ALERT.c.incident_id, columns.channel, columns.target, columns.action)
            .join(_ALERT, _ALERT.c.id == columns.alert_id)
            .where(_ALERT.c.incident_id.in_(incident_ids), columns.status == "sent")
            .order_by(columns.sent_at, columns.id)
        )
        last = {(incident, channel, target): action for incident, channel, target, action in rows}
    return resolved, last


def settle_claims(
    engine: Engine, token: str, actions: dict[int, str], dropped: dict[int, str]
) -> None:
    """Record what leased deliveries will say when it changed since routing (`actions`: their
    re-checked action) and drop those whose claim no longer holds and that nobody heard
    (status `dropped`, with why)."""
    columns = _DELIVERY.c
    mine = columns.lease_owner == token
    by_action: dict[str, list[int]] = {}
    for delivery_id, action in actions.items():
        by_action.setdefault(action, []).append(delivery_id)
    with engine.begin() as connection:
        for action, ids in by_action.items():
            connection.execute(
                update(_DELIVERY).where(columns.id.in_(ids), mine).values(action=action)
            )
        for delivery_id, why in dropped.items():
            connection.execute(
                update(_DELIVERY)
                .where(columns.id == delivery_id, mine)
                .values(
                    status="dropped",
                    last_error=f"not sent: {why}"[:2000],
                    lease_owner=None,
                    lease_until=None,
                )
            )


def release(engine: Engine, token: str) -> None:
    """Give back the leases of deliveries claimed but not attempted (on shutdown)."""
    columns = _DELIVERY.c
    with engine.begin() as connection:
        connection.execute(
            update(_DELIVERY)
            .where(columns.lease_owner == token, columns.status == "pending")
            .values(lease_owner=None, lease_until=None)
        )


def count_by_status(engine: Engine) -> dict[str, int]:
    """How many deliveries are pending, sent, dropped (claim no longer true) and dead."""
    columns = _DELIVERY.c
    with engine.connect() as connection:
        rows = connection.execute(select(columns.status, func.count()).group_by(columns.status))
        return {status: int(count) for status, count in rows}


def list_deliveries(
    engine: Engine, *, status: str | None = None, limit: int = 200
) -> list[tuple[AlertDeliveryRow, AlertRow]]:
    """Deliveries with their alert, newest first."""
    statement = (
        select(AlertDeliveryRow, AlertRow)
        .join(AlertRow, AlertRow.id == AlertDeliveryRow.alert_id)  # type: ignore[arg-type]
        .order_by(AlertDeliveryRow.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    if status:
        statement = statement.where(AlertDeliveryRow.status == status)
    with Session(engine) as session:
        rows = [(delivery, alert) for delivery, alert in session.execute(statement)]
        session.expunge_all()
    return rows


def resend(engine: Engine, delivery_id: int, actor: str, now: datetime) -> AlertDeliveryRow:
    """Queue a delivery again (dead, or sent and lost downstream) under the same id."""
    with Session(engine) as session:
        row = session.get(AlertDeliveryRow, delivery_id)
        if row is None:
            raise NotFoundError(f"no alert delivery #{delivery_id} (see `toolgate alerts list`)")
        record_event(
            session, actor, "alert-resend", f"delivery #{delivery_id}", previous=row.status
        )
        row.status, row.attempts, row.due_at = "pending", 0, now
        row.lease_owner = row.lease_until = None
        session.commit()
        session.refresh(row)
        session.expunge(row)
    return row
