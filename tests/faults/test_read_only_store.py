"""A store that can be read but takes no write: /readyz says so, decisions go on, and the
records are written once it takes writes again.

Before: /readyz said `ready` and `store: ok` while every audit write failed.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import LiveServer, wait_until
from tests.faults.conftest import Load, set_read_only, with_audit
from verifier.config import Config
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade


def test_readyz_is_degraded_while_audit_writes_fail(
    store_url: str, write_config: Callable[..., Config]
):
    config = with_audit(write_config(store_url), '[audit]\nflush_interval = "50ms"\n')
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    server = LiveServer(config, engine).start()
    load = Load(server.url, server.token("load"), threads=2)

    def readyz() -> dict:
        return httpx.get(f"{server.url}/readyz", timeout=30).json()

    try:
        load.start()
        wait_until(lambda: server.service.audit.written >= 20, "records written")
        set_read_only(store_url, True)
        try:
            wait_until(lambda: readyz()["audit"] != "ok", "/readyz naming the failing writes")
            ready = readyz()
            assert ready["status"] == "degraded" and ready["store"] == "ok"  # reads work
            answered = load.answered(200)
            wait_until(lambda: load.answered(200) >= answered + 20, "decisions meanwhile")
        finally:
            set_read_only(store_url, False)
        wait_until(lambda: readyz()["status"] == "ready", "/readyz ready again")
        load.stop()
        wait_until(lambda: readyz()["audit_pending"] == 0, "the kept records written")
        assert readyz()["audit_dropped"] == 0 and load.answered(503) == 0 and not load.errors
    finally:
        load.stop()
        server.stop()
        engine.dispose()
