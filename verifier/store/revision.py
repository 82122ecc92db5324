"""The store revision: one counter bumped in the same transaction as every change of facts.

Replicas compare it with their snapshot's revision to know when to rebuild.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlmodel import Session

from verifier.store.models import StoreStateRow

_REVISION = StoreStateRow.__table__.c  # type: ignore[attr-defined]


def bump_revision(session: Session) -> None:
    """Mark the facts as changed; commit with the change itself."""
    session.execute(
        update(StoreStateRow).where(_REVISION.key == "revision").values(value=_REVISION.value + 1)
    )


def read_revision(connection: Connection | Session) -> int:
    """The current store revision."""
    value = connection.execute(select(_REVISION.value).where(_REVISION.key == "revision")).scalar()
    return int(value or 0)
