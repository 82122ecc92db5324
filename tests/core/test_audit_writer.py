"""The audit writer process: records reach the store, a dead writer loses nothing, a slow store
makes answers wait instead of dropping records."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine

from tests.conftest import LiveServer
from verifier.audit import AuditBuffer, AuditRecord, query_audit
from verifier.audit_writer import WriterProcess
from verifier.config import Config
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade


def record(n: int) -> AuditRecord:
    return AuditRecord(
        datetime.now(UTC), "runner", "gh-1", None, "trivy", f"0.{n}.0", None, None, "deny",
        False, "[]", 1,
    )  # fmt: skip


def alive(pid: int) -> bool:
    """True while `pid` runs (a killed child not yet reaped is a zombie: not alive)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_writer_killed_mid_batch_loses_nothing_and_is_restarted(engine: Engine, store_url: str):
    writer = WriterProcess(store_url)
    buffer = AuditBuffer(engine, 1_000, writer=writer)

    async def scenario() -> None:
        for n in range(3):
            buffer.append(record(n))
        assert await buffer.flush() == 3
        pid = writer.pid
        assert pid is not None
        os.kill(pid, signal.SIGTERM)  # ignored: a stopping server flushes, then closes the pipe
        for n in range(3, 5):
            buffer.append(record(n))
        assert await buffer.flush() == 2 and writer.pid == pid
        os.kill(pid, signal.SIGSTOP)  # the next batch is sent, never acknowledged...
        for n in range(5, 10):
            buffer.append(record(n))
        flushing = asyncio.create_task(buffer.flush())
        await asyncio.sleep(0.5)
        assert not flushing.done() and len(buffer) == 5  # in flight counts as pending
        os.kill(pid, signal.SIGKILL)  # ...and the writer dies with it
        assert await flushing == 0
        assert buffer.last_error and "audit writer process exited" in buffer.last_error
        assert (len(buffer), buffer.dropped) == (5, 0)
        assert await buffer.flush() == 5  # a new writer takes the batch
        assert writer.starts == 2 and writer.pid != pid and buffer.last_error is None
        new_pid = writer.pid
        assert new_pid is not None
        await buffer.close()
        assert writer.pid is None and not alive(new_pid)

    asyncio.run(scenario())
    versions = sorted(row.version for row in query_audit(engine, tool="trivy"))
    assert versions == sorted(f"0.{n}.0" for n in range(10))


def test_a_slow_store_drops_nothing(write_config: Callable[..., Config]):
    """SQLite locked by another writer (shorter than its busy timeout): a batch that fills the
    buffer waits a moment for the write (never long: a hung store must not stop decisions),
    and no record is dropped while the store is slow but not failing."""
    config = write_config()
    audit = config.audit.model_copy(
        update={"buffer_limit": 1000, "flush_interval": timedelta(milliseconds=50)}
    )
    config = config.model_copy(update={"audit": audit})
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    server = LiveServer(config, engine).start()
    try:
        token = server.token("runner")
        queries = {"queries": [{"tool": "trivy", "version": f"0.{n}.0"} for n in range(1000)]}
        database = config.store_url.removeprefix("sqlite:///")
        lock = sqlite3.connect(database, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the store is reachable, but slow to take writes
        answers: list[int] = []

        def ask() -> None:
            with server.client(token) as client:
                answers.append(client.post("/v1/decisions", json=queries).status_code)

        askers = [threading.Thread(target=ask) for _ in range(2)]
        for thread in askers:
            thread.start()
            time.sleep(0.3)  # the first batch is in flight when the second fills the buffer
        time.sleep(1.0)  # the store stays locked a while
        lock.execute("COMMIT")
        lock.close()
        for thread in askers:
            thread.join(15)
        assert answers == [200, 200]
        deadline = time.monotonic() + 10
        while len(server.service.audit) and time.monotonic() < deadline:
            time.sleep(0.05)
        ready = httpx.get(f"{server.url}/readyz").json()
        assert (ready["audit_pending"], ready["audit_dropped"]) == (0, 0)
        assert len(query_audit(engine, tool="trivy", limit=5000)) == 2000
    finally:
        server.stop()
        engine.dispose()
