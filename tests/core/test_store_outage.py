"""The store goes away while serving: decisions go on, staleness shows, no audit is lost."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import psycopg
import pytest

from tests.conftest import PG_SERVER, LiveServer
from verifier.audit import query_audit
from verifier.config import Config
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade


def set_connections(database: str, allowed: bool) -> None:
    with psycopg.connect(f"postgresql://{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


def poll(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


@pytest.mark.postgres
def test_decisions_continue_from_the_last_snapshot_while_the_store_is_down(
    pg_database: Callable[[], str], write_config: Callable[..., Config]
):
    url = pg_database()
    database = url.rsplit("/", 1)[1]
    config = write_config(url)
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    server = LiveServer(config, engine).start()
    try:
        token = server.token("runner")
        client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
        set_connections(database, allowed=False)
        poll(lambda: client.get("/readyz").json()["status"] == "degraded")
        for _ in range(5):
            answer = client.get("/v1/decision", params={"tool": "nope", "version": "1"})
            assert answer.status_code == 200 and answer.json()["decision"] == "deny"
        ready = client.get("/readyz").json()
        assert ready["store"] != "ok" and ready["audit_pending"] >= 1
        assert "toolgate_store_up 0.0" in client.get("/metrics").text
        set_connections(database, allowed=True)
        poll(lambda: client.get("/readyz").json()["status"] == "ready")
        poll(lambda: server.service.audit.written >= 5)
        assert len(query_audit(engine, tool="nope")) == 5
    finally:
        set_connections(database, allowed=True)
        server.stop()
        engine.dispose()
