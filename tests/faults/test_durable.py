"""`[audit] durable = true` under load, through a store outage, then kill -9: no answer was a
decision (200) without its record committed. Without it, what is lost is only what was not yet
written, as README says.

Before: while the store refused writes, durable answers were 200 all the same, and a kill -9
lost their records.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import wait_until
from tests.faults.conftest import Load, set_read_only, with_audit
from verifier.config import Config
from verifier.demo.daemon import Daemon
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.store.models import DecisionLogRow
from verifier.tokens import Scope, create_token


def _recorded_jobs(store_url: str) -> set[str]:
    engine = create_store_engine(store_url)
    try:
        with engine.connect() as connection:
            return set(connection.scalars(select(DecisionLogRow.job)))
    finally:
        engine.dispose()


def _metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "buffered"])
def test_kill_9_after_a_store_outage_loses_no_acknowledged_record(
    store_url: str, write_config: Callable[..., Config], tmp_path: Path, durable: bool
):
    audit = f'[audit]\nflush_interval = "50ms"\ndurable = {str(durable).lower()}\n'
    config = with_audit(write_config(store_url), audit)
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    token = create_token(engine, "load", {Scope.CHECK}, "test")
    engine.dispose()
    daemon = Daemon(config.source_path, f"http://{config.server.listen}", tmp_path / "serve.log")
    daemon.start()
    load = Load(daemon.url, token, threads=4)
    try:
        load.start()
        wait_until(lambda: load.answered(200) >= 50, "decisions before the outage")
        set_read_only(store_url, True)
        try:
            if durable:  # refused, not acknowledged
                wait_until(lambda: load.answered(503) >= 10, "503s during the outage")
            else:  # acknowledged, kept for later
                before = load.answered(200)
                wait_until(lambda: load.answered(200) >= before + 50, "answers during it")
        finally:
            set_read_only(store_url, False)
        wait_until(lambda: load.answered(200) >= 400, "decisions after the outage")
        # Buffered mode promises the records written so far: every answer before this point
        # (and those in flight) is written once the written count passes them.
        covered = {job for job, (status, _at) in list(load.answers.items()) if status == 200}
        target = len(covered) + load.threads
        wait_until(lambda: _metric(daemon.url, "toolgate_audit_written_total") >= target, "written")
        daemon.kill()  # mid-flush: records are being written all the time
    finally:
        load.stop()
        daemon.kill()
    assert load.bad_refusals == []
    acknowledged = {job for job, (status, _at) in load.answers.items() if status == 200}
    lost = acknowledged - _recorded_jobs(store_url)
    if durable:
        assert lost == set(), sorted(lost)[:20]
        assert load.answered(503) >= 10
    else:
        assert lost.isdisjoint(covered), sorted(lost & covered)[:20]
        assert load.answered(503) == 0
