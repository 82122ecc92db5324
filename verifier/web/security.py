"""Dashboard sessions: a signed cookie naming an API token (never the token), CSRF, login limits.

The cookie holds the token's row id, a binding to its hash and a random nonce, signed and
timestamped with a key kept in `state_dir` (0600, made on first use). Every request re-reads the
token's row, so revoking the token (or taking its scope away) ends its sessions at once. The CSRF
token is an HMAC of the session nonce: bound to the session, checked in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Engine, select
from sqlmodel import Session

from verifier.errors import ConfigError
from verifier.store.models import ApiTokenRow
from verifier.tokens import Scope, hash_token

log = logging.getLogger(__name__)

COOKIE_NAME = "toolgate_session"
COOKIE_PATH = "/ui"
SESSION_SECONDS = 12 * 3600
KEY_FILE = "dashboard-session.key"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class WebSession:
    """A logged-in dashboard user: the token it logged in with, as the store holds it now."""

    token_id: int
    token_name: str
    scopes: frozenset[Scope]
    csrf: str

    @property
    def admin(self) -> bool:
        return Scope.ADMIN in self.scopes

    @property
    def actor(self) -> str:
        """Who acts, in the audit trail's terms (as the API records it)."""
        return f"token:{self.token_name}"


def load_session_key(state_dir: Path) -> bytes:
    """The signing key in `state_dir`, created (0600, atomically) on first use.

    Refuses a key file other users can read: anyone who reads it can forge sessions.
    """
    path = state_dir / KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        temporary = state_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)  # fails if another process made it first: use theirs
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    mode = path.stat().st_mode
    if mode & 0o077:
        raise ConfigError(
            f"{path}: the dashboard session key is readable by other users "
            f"(mode {mode & 0o777:o}): run `chmod 600 {path}`"
        )
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigError(f"{path}: the dashboard session key is too short: delete it to renew")
    return key.encode()


class SessionKeeper:
    """Issues and checks session cookies against the store's token table."""

    def __init__(self, engine: Engine, state_dir: Path) -> None:
        self._engine = engine
        self._state_dir = state_dir
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _secret(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = load_session_key(self._state_dir)
            return self._key

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret(), salt="toolgate-dashboard-session")

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._secret(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def login(self, token: str) -> tuple[ApiTokenRow | None, str]:
        """The token's row if it may use the dashboard, else None and why (never the token)."""
        with Session(self._engine) as session:
            row = session.scalars(
                select(ApiTokenRow).where(ApiTokenRow.token_hash == hash_token(token))
            ).first()
        if row is None or row.revoked_at is not None:
            return None, "unknown or revoked token"
        if not _scopes(row) & {Scope.READ, Scope.ADMIN}:
            return None, f'token "{row.name}" has neither the "read" nor the "admin" scope'
        return row, ""

    def issue(self, row: ApiTokenRow) -> str:
        """A cookie value for a session of `row`'s token."""
        payload = {"t": row.id, "b": self._mac("bind", row.token_hash)[:32]}
        payload["n"] = secrets.token_urlsafe(16)
        return self._serializer().dumps(payload)

    def check(self, cookie: str | None) -> WebSession | None:
        """The session a cookie names, if its signature, age and token are all still good."""
        if not cookie or len(cookie) > 512:
            return None
        try:
            payload = self._serializer().loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:  # also a session older than SESSION_SECONDS
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("t"), int):
            return None
        with Session(self._engine) as session:
            row = session.get(ApiTokenRow, payload["t"])
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(str(payload.get("b")), self._mac("bind", row.token_hash)[:32]):
            return None
        scopes = _scopes(row)
        if not scopes & {Scope.READ, Scope.ADMIN}:
            return None
        return WebSession(row.id or 0, row.name, scopes, self._mac("csrf", str(payload.get("n"))))

    @staticmethod
    def csrf_ok(session: WebSession, submitted: object) -> bool:
        """Whether a form's CSRF field is this session's token (constant-time comparison)."""
        return isinstance(submitted, str) and hmac.compare_digest(
            submitted.encode(), session.csrf.encode()
        )


def _scopes(row: ApiTokenRow) -> frozenset[Scope]:
    known = {scope.value for scope in Scope}
    return frozenset(Scope(s) for s in row.scopes.split() if s in known)


class LoginLimiter:
    """At most `limit` failed logins per client address in `window` seconds; then refusal."""

    def __init__(self, limit: int = 10, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= self.limit

    def failed(self, client: str) -> int:
        """Count a failure; returns the failures in the window. Forgets idle clients."""
        now = time.monotonic()
        with self._lock:
            for other in [c for c, f in self._failures.items() if f and f[-1] <= now - self.window]:
                del self._failures[other]
            failures = self._recent(client, now)
            failures.append(now)
            return len(failures)


def safe_next(target: str | None) -> str:
    """Where to go after login: a dashboard path only, never another site."""
    if target and target.startswith("/ui/") and target.isprintable() and "\\" not in target:
        return target
    return "/ui/"
