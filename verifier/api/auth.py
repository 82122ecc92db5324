"""Bearer-token authentication against the snapshot's token table."""

from __future__ import annotations

from verifier.snapshot import Snapshot
from verifier.tokens import Scope, TokenInfo, hash_token


class AuthError(Exception):
    """401 (no or unknown token) or 403 (token lacks the scope)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def authenticate(snapshot: Snapshot, authorization: str | None, scope: Scope) -> TokenInfo:
    """The token named by an `Authorization: Bearer …` header, if it may use `scope`."""
    if not authorization:
        raise AuthError(401, "missing Authorization: Bearer <token> header")
    kind, _, token = authorization.partition(" ")
    if kind.lower() != "bearer" or not token:
        raise AuthError(401, "the Authorization header must be 'Bearer <token>'")
    info = snapshot.tokens.get(hash_token(token.strip()))
    if info is None:
        raise AuthError(401, "unknown or revoked token")
    if not info.allows(scope):
        raise AuthError(403, f'token "{info.name}" lacks the "{scope}" scope')
    return info
