"""Session keys, session cookies and login limits, without a server."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from verifier.errors import ConfigError
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.tokens import Scope, create_token, revoke_token
from verifier.web import security
from verifier.web.security import (
    KEY_FILE,
    LoginLimiter,
    SessionKeeper,
    load_session_key,
    safe_next,
)


def test_the_key_is_made_once_with_mode_0600_even_by_racing_processes(tmp_path: Path):
    state = tmp_path / "state"
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_session_key(state))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert (state / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in state.iterdir()) == [KEY_FILE]  # no temporary files left


def test_a_key_other_users_can_read_is_refused(tmp_path: Path):
    load_session_key(tmp_path)
    os.chmod(tmp_path / KEY_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_session_key(tmp_path)


@pytest.fixture
def keeper(tmp_path: Path) -> SessionKeeper:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'toolgate.db'}")
    upgrade(engine)
    return SessionKeeper(engine, tmp_path / "state")


def test_a_session_names_its_token_and_ends_with_it(keeper: SessionKeeper):
    token = create_token(keeper._engine, "ops", {Scope.ADMIN}, "test")
    row, why = keeper.login(token)
    assert row is not None and why == ""
    cookie = keeper.issue(row)
    session = keeper.check(cookie)
    assert session is not None and (session.token_name, session.admin) == ("ops", True)
    assert session.actor == "token:ops"
    assert keeper.csrf_ok(session, session.csrf) and not keeper.csrf_ok(session, session.csrf[:-1])
    assert not keeper.csrf_ok(session, None)
    revoke_token(keeper._engine, "ops", "test")
    assert keeper.check(cookie) is None
    assert keeper.login(token) == (None, "unknown or revoked token")


def test_forged_tampered_and_expired_cookies_are_refused(
    keeper: SessionKeeper, monkeypatch: pytest.MonkeyPatch
):
    token = create_token(keeper._engine, "reader", {Scope.READ}, "test")
    row, _ = keeper.login(token)
    assert row is not None
    cookie = keeper.issue(row)
    other_key = URLSafeTimedSerializer("not the key", salt="toolgate-dashboard-session")
    payload = keeper._serializer().loads(cookie)
    for bad in (
        "",
        "x" * 600,
        cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"),
        other_key.dumps(payload),
        keeper._serializer().dumps({**payload, "b": "0" * 32}),  # not bound to that token
        keeper._serializer().dumps({"t": "1"}),
        keeper._serializer().dumps([1, 2]),
    ):
        assert keeper.check(bad) is None, bad
    monkeypatch.setattr(security, "SESSION_SECONDS", -1)  # every session is now too old
    assert keeper.check(cookie) is None


def test_a_check_token_cannot_log_in(keeper: SessionKeeper):
    token = create_token(keeper._engine, "runner", {Scope.CHECK}, "test")
    row, why = keeper.login(token)
    assert row is None and '"runner"' in why and token not in why


def test_login_failures_are_limited_per_client_within_a_window():
    limiter = LoginLimiter(limit=3, window=0.2)
    assert [limiter.failed("a") for _ in range(3)] == [1, 2, 3]
    assert limiter.blocked("a") and not limiter.blocked("b")
    threading.Event().wait(0.25)
    assert not limiter.blocked("a")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/ui/tools/trivy", "/ui/tools/trivy"),
        ("/ui/audit?tool=x&since=1h", "/ui/audit?tool=x&since=1h"),
        (None, "/ui/"),
        ("", "/ui/"),
        ("https://evil.example/ui/", "/ui/"),
        ("//evil.example/ui/", "/ui/"),
        ("/v1/tokens", "/ui/"),
        ("/ui/\\evil", "/ui/"),
        ("/ui/\r\nSet-Cookie: x", "/ui/"),
    ],
)
def test_after_login_only_dashboard_paths(target, expected):
    assert safe_next(target) == expected


@given(st.text(max_size=80))
def test_safe_next_never_leaves_the_dashboard(target):
    result = safe_next(target)
    assert result.startswith("/ui/") and result.isprintable() and "\\" not in result
