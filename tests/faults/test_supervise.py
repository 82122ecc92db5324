"""The supervisor every background loop runs under: a failing unit is named and retried, a
stuck one is named while it runs, a dead loop is restarted."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from verifier.supervise import MAX_BACKOFF, Supervisor


def test_a_failing_unit_is_logged_named_retried_and_cleared(caplog: pytest.LogCaptureFixture):
    supervisor = Supervisor()
    outcomes = iter([ValueError("bad document"), ValueError("bad document"), "ok"])

    def work() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def scenario() -> None:
        assert await supervisor.call("advisory-feeds", work, limit=60) is None
        assert supervisor.problems() == {"advisory-feeds": "ValueError: bad document"}
        first = supervisor.pause("advisory-feeds", 1.0)
        assert await supervisor.call("advisory-feeds", work, limit=60) is None
        assert supervisor.pause("advisory-feeds", 1.0) == 2 * first  # backs off
        assert await supervisor.call("advisory-feeds", work, limit=60) == "ok"
        assert supervisor.problems() == {} and supervisor.pause("advisory-feeds", 1.0) == 1.0

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    logged = [r for r in caplog.records if "advisory-feeds failed" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info  # once per streak, with its traceback


def test_the_pause_is_bounded():
    supervisor = Supervisor()
    for _ in range(40):
        supervisor.failed("alert-sender", RuntimeError("x"))
    assert supervisor.pause("alert-sender", 1.0) == MAX_BACKOFF
    assert supervisor.pause("alert-sender", 3600.0) == 3600.0  # never more often than asked


def test_a_unit_past_its_limit_is_named_while_it_runs():
    supervisor = Supervisor()
    release = threading.Event()

    async def scenario() -> None:
        running = asyncio.create_task(supervisor.call("snapshot-refresh", release.wait, limit=0))
        while "snapshot-refresh" not in supervisor.problems():
            await asyncio.sleep(0.01)
        assert "still running" in supervisor.problems()["snapshot-refresh"]
        release.set()
        assert await running is True
        assert supervisor.problems() == {}

    asyncio.run(scenario())


def test_a_loop_that_dies_is_restarted_and_named_until_it_works_again():
    supervisor = Supervisor()
    runs: list[int] = []

    async def loop() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("boom")
        await supervisor.call("weekly-report", lambda: None, limit=60)
        await asyncio.Event().wait()  # runs until cancelled

    async def scenario() -> None:
        task = supervisor.spawn("weekly-report", loop)
        while "weekly-report" not in supervisor.problems():  # named while it waits to restart
            await asyncio.sleep(0.01)
        assert supervisor.problems()["weekly-report"] == "restarted after RuntimeError: boom"
        while len(runs) < 2:
            assert task.done() is False
            await asyncio.sleep(0.01)
        while supervisor.problems():
            await asyncio.sleep(0.01)
        assert supervisor.restarts["weekly-report"] == 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
