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
from sqlalchemy import select
from sqlmodel import Session

from verifier.alerts.outbox import enqueue_alert
from verifier.store.models import IncidentRow


class IncidentKind(StrEnum):
    VERIFICATION_FAILED = "verification-failed"
    DIGEST_CHANGED = "digest-changed"
    TAG_MOVED = "tag-moved"
    EVIDENCE_CHANGED = "evidence-changed"
    ADVISORY = "advisory"
    FEED_HIT = "feed-hit"
    FEED_STALE = "feed-stale"
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
    """Insert or update the incident named `dedupe_key` in the caller's transaction."""
    fingerprint = _fingerprint(severity, summary, detail)
    row = session.scalars(select(IncidentRow).where(IncidentRow.dedupe_key == dedupe_key)).first()
    if row is None:
        row = IncidentRow(
            dedupe_key=dedupe_key,
            kind=kind,
            tool=tool,
            version=version,
            severity=severity,
            summary=summary,
            detail_json=orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode(),
            fingerprint=fingerprint,
        )
        session.add(row)
        session.flush()
        enqueue_alert(session, row)
        return IncidentChange(row, "new")
    if row.fingerprint == fingerprint and row.resolved_at is None:
        return IncidentChange(row, "unchanged")
    row.severity, row.summary, row.fingerprint = severity, summary, fingerprint
    row.detail_json = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
    row.updated_at, row.resolved_at = datetime.now(UTC), None
    session.flush()
    enqueue_alert(session, row)
    return IncidentChange(row, "changed")


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
