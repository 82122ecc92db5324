"""Incidents: facts that made a decision worse (a tampered release, a moved tag, an advisory…).

Each is recorded in the same transaction as the fact that caused it, under a stable dedupe key,
so seeing the same event again (a restart, a re-ingest, a second replica) changes nothing, while
a material change (new severity, new detail) is recorded as one. Alerts are built on this.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import or_, select, update
from sqlmodel import Session

from verifier.alerts.outbox import enqueue_alert, insert_ignore
from verifier.store.models import IncidentRow

_INCIDENT = IncidentRow.__table__  # type: ignore[attr-defined]


class IncidentKind(StrEnum):
    VERIFICATION_FAILED = "verification-failed"
    DIGEST_CHANGED = "digest-changed"
    TAG_MOVED = "tag-moved"
    EVIDENCE_CHANGED = "evidence-changed"
    ADVISORY = "advisory"
    FEED_HIT = "feed-hit"
    FEED_STALE = "feed-stale"
    FEED_FAILING = "feed-failing"
    MANUAL_BLOCK = "manual-block"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """What recording an incident did: `new`, `changed` (material change) or `unchanged`."""

    incident: IncidentRow
    outcome: str

    @property
    def notable(self) -> bool:
        return self.outcome in ("new", "changed")


def _fingerprint(severity: str, summary: str, detail: dict[str, Any]) -> str:
    material = orjson.dumps([severity, summary, detail], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(material).hexdigest()


def record_incident(
    session: Session,
    *,
    kind: IncidentKind,
    tool: str,
    version: str | None,
    severity: Severity,
    summary: str,
    detail: dict[str, Any],
    dedupe_key: str,
) -> IncidentChange:
    """Insert or update the incident named `dedupe_key` in the caller's transaction.

    Safe against replicas recording the same incident at the same moment: the insert is
    INSERT … ON CONFLICT DO NOTHING and the update is conditional on the state differing (on
    PostgreSQL it waits for the other's commit and re-checks), so exactly one of them records
    the new state and enqueues its alert; the others find it `unchanged`.
    """
    fingerprint = _fingerprint(severity, summary, detail)
    detail_json = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
    columns = _INCIDENT.c
    by_key = select(IncidentRow).where(IncidentRow.dedupe_key == dedupe_key)
    row = session.scalars(by_key).first()
    if row is not None and row.fingerprint == fingerprint and row.resolved_at is None:
        return IncidentChange(row, "unchanged")  # the usual case: read only
    incident_id, outcome = None, "new"
    if row is None:
        new = IncidentRow(
            dedupe_key=dedupe_key,
            kind=kind,
            tool=tool,
            version=version,
            severity=severity,
            summary=summary,
            detail_json=detail_json,
            fingerprint=fingerprint,
        )
        dialect = session.get_bind().dialect.name
        values = new.model_dump(exclude={"id"})
        incident_id = session.scalar(
            insert_ignore(dialect, _INCIDENT, [values]).returning(columns.id)
        )
    if incident_id is None:  # it exists (perhaps just added by another replica)
        outcome = "changed"
        incident_id = session.scalar(
            update(_INCIDENT)
            .where(
                columns.dedupe_key == dedupe_key,
                or_(columns.fingerprint != fingerprint, columns.resolved_at.is_not(None)),
            )
            .values(
                kind=kind,
                severity=severity,
                summary=summary,
                detail_json=detail_json,
                fingerprint=fingerprint,
                updated_at=datetime.now(UTC),
                resolved_at=None,
            )
            .returning(columns.id)
        )
    row = session.scalars(by_key.execution_options(populate_existing=True)).one()
    if incident_id is None:  # another replica recorded this very state first
        return IncidentChange(row, "unchanged")
    enqueue_alert(session, row)
    return IncidentChange(row, outcome)


def resolve_incident(session: Session, dedupe_key: str) -> bool:
    """Mark an incident resolved (e.g. an advisory withdrawn); True if it was open."""
    row = session.scalars(select(IncidentRow).where(IncidentRow.dedupe_key == dedupe_key)).first()
    if row is None or row.resolved_at is not None:
        return False
    row.resolved_at = datetime.now(UTC)
    return True


def list_incidents(session: Session, *, open_only: bool = True) -> list[IncidentRow]:
    """Incidents, newest first."""
    statement = select(IncidentRow).order_by(IncidentRow.updated_at.desc(), IncidentRow.id.desc())
    if open_only:
        statement = statement.where(IncidentRow.resolved_at.is_(None))
    return list(session.scalars(statement))
