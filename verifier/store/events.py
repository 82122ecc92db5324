"""The administrative audit trail: who approved, blocked, created or revoked what, and why."""

from __future__ import annotations

from typing import Any

import orjson
from sqlmodel import Session

from verifier.store.models import EventRow


def record_event(session: Session, actor: str, action: str, target: str, **detail: Any) -> None:
    """Add an event to the session; it commits with the change it describes."""
    session.add(
        EventRow(
            actor=actor, action=action, target=target, detail_json=orjson.dumps(detail).decode()
        )
    )
