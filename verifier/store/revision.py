"""The store revision: one counter bumped in the same transaction as every change of facts.

Replicas compare it with their snapshot's revision to know when to rebuild.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlmodel import Session

from verifier.store.models import StoreStateRow

_REVISION = StoreStateRow.__table__.c  # type: ignore[attr-defined]


def bump_revision(session: Session, *, advisories: bool = False) -> None:
    """Mark the facts as changed (and, with `advisories`, the advisory data); commit with them."""
    keys = ["revision", "advisories"] if advisories else ["revision"]
    session.execute(
        update(StoreStateRow).where(_REVISION.key.in_(keys)).values(value=_REVISION.value + 1)
    )


def read_revision(connection: Connection | Session, key: str = "revision") -> int:
    """The current store revision (or the counter named `key`: "advisories")."""
    value = connection.execute(select(_REVISION.value).where(_REVISION.key == key)).scalar()
    return int(value or 0)
