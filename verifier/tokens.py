"""API tokens: random, shown once, stored as SHA-256, scoped and revocable.

A fast hash is the right one here: tokens carry 256 bits of randomness, so there is nothing for
a slow password hash to protect, and every request must check one in microseconds.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, select
from sqlmodel import Session

from verifier.errors import NotFoundError
from verifier.storable import TOKEN_NAME
from verifier.store.events import record_event
from verifier.store.models import ApiTokenRow
from verifier.store.revision import bump_revision

TOKEN_PREFIX = "tg_"


class Scope(StrEnum):
    """What a token may do. `admin` implies `check` and `read`."""

    CHECK = "check"  # ask for decisions
    READ = "read"  # read inventory, audit and reports
    ADMIN = "admin"  # approve, block, manage tokens


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create_token(engine: Engine, name: str, scopes: set[Scope], actor: str) -> str:
    """Create a token and return it; only its hash is kept, so it cannot be shown again."""
    if not TOKEN_NAME.match(name):
        raise ValueError(
            f"token name {name!r} is not 1-200 letters, digits or . _ @ - (e.g. runner-eu-1)"
        )
    if not scopes:
        raise ValueError("a token needs at least one scope (check, read or admin)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session:
        if session.scalars(select(ApiTokenRow).where(ApiTokenRow.name == name)).first():
            raise ValueError(f'a token named "{name}" already exists: revoke it or pick a name')
        scope_text = " ".join(sorted(scopes))
        session.add(
            ApiTokenRow(
                name=name, token_hash=hash_token(token), scopes=scope_text, created_by=actor
            )
        )
        record_event(session, actor, "token-create", name, scopes=scope_text)
        bump_revision(session)
        session.commit()
    return token


def revoke_token(engine: Engine, name: str, actor: str) -> None:
    """Revoke a token; replicas stop accepting it at their next snapshot (about a second)."""
    with Session(engine) as session:
        row = None
        if TOKEN_NAME.match(name):  # no other name can exist (nor reach PostgreSQL, if it has NUL)
            row = session.scalars(
                select(ApiTokenRow).where(
                    ApiTokenRow.name == name, ApiTokenRow.revoked_at.is_(None)
                )
            ).first()
        if row is None:
            raise NotFoundError(f'no active token named "{name}" (see `toolgate token list`)')
        row.revoked_at = datetime.now(UTC)
        record_event(session, actor, "token-revoke", name)
        bump_revision(session)
        session.commit()


def list_tokens(engine: Engine) -> list[ApiTokenRow]:
    with Session(engine) as session:
        return list(session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.name)))


def load_tokens(session: Session) -> Mapping[str, TokenInfo]:
    """Active tokens by hash, for the snapshot."""
    rows = session.scalars(select(ApiTokenRow).where(ApiTokenRow.revoked_at.is_(None)))
    return {
        row.token_hash: TokenInfo(row.name, frozenset(Scope(s) for s in row.scopes.split()))
        for row in rows
    }
