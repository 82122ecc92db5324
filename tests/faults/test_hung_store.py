"""A store that hangs (PostgreSQL reachable, never answering: a paused proxy) never stops the
decisions: they flow from the last snapshot, /readyz turns degraded and back.

Before: the audit write waited on the store without a time limit, and once `buffer_limit`
records were waiting every answer waited for that write: decisions stopped until the store
answered again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import LiveServer, wait_until
from tests.faults.conftest import Load, with_audit
from verifier.config import Config
from verifier.demo.tcp_proxy import PausableProxy
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade

pytestmark = pytest.mark.postgres


def _readyz(server: LiveServer) -> dict:
    return httpx.get(f"{server.url}/readyz", timeout=30).json()


def test_decisions_flow_while_the_store_hangs(
    pg_database: Callable[[], str], write_config: Callable[..., Config]
):
    direct = pg_database()
    proxy = PausableProxy.for_store(direct).start()
    config = write_config(proxy.store_url(direct))
    # The smallest buffer, flushed often: the pause outlasts it many times over.
    config = with_audit(config, '[audit]\nflush_interval = "50ms"\nbuffer_limit = 1000\n')
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    server = LiveServer(config, engine).start()
    load = Load(server.url, server.token("load"), threads=2, batch=100)
    try:
        load.start()
        wait_until(lambda: server.service.audit.written >= 500, "records written before")
        proxy.pause()
        paused_at = time.monotonic()
        wait_until(lambda: _readyz(server)["status"] == "degraded", "/readyz degraded")
        ready = _readyz(server)
        assert ready["audit"] != "ok" or ready["failing"], ready
        # Far more records than the buffer holds are answered while the store hangs.
        wait_until(lambda: load.answered(200, after=paused_at) >= 40, "answers while hung")
        assert load.answered(503) == 0 and not load.errors
        proxy.resume()
        wait_until(lambda: _readyz(server)["status"] == "ready", "/readyz ready again")
        ready = _readyz(server)
        assert ready["audit_dropped"] > 0  # counted, never silent
    finally:
        load.stop()
        proxy.resume()
        server.stop()
        engine.dispose()
        proxy.stop()
