"""Supervised background work: every loop of the daemon runs its units of work through here.

A unit of work (one snapshot refresh, one round of feed syncs, one poll, one audit flush, one
alert pass, one weekly-report check) that raises is logged with its loop's name, recorded in
`problems` (which `/readyz` and `toolgate doctor` show) and retried after a pause that doubles
with each failure in a row; the loop goes on. A unit still running past its time limit is a
problem too (a hung store or upstream): it is not abandoned, its loop waits for it, but nothing
on the decision path does. A loop that ends anyway is restarted after a pause, and named among
the problems until one of its units succeeds again (or, for a loop whose units are not run
here, for `DEATH_SHOWN` seconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BACKOFF = 60.0  # seconds: the longest pause after failures in a row (or the interval)
DEATH_SHOWN = 300.0  # seconds a restarted loop stays among the problems, at most


def describe(exc: BaseException) -> str:
    """An exception on one line: its first line, or its type when it has no message."""
    text = str(exc).splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(slots=True)
class Failure:
    """A loop's current streak of failed units: the last error, when it began, how many."""

    error: str
    since: float  # time.monotonic()
    count: int = 1


class Supervisor:
    """The state of the daemon's background loops, and the way they run (one per service)."""

    def __init__(self) -> None:
        self.failures: dict[str, Failure] = {}
        self.restarts: Counter[str] = Counter()
        self._deaths: dict[str, tuple[str, float]] = {}  # loop -> (why it ended, when)
        self._streak: Counter[str] = Counter()  # deaths of a loop since its last good unit
        self._running: dict[str, tuple[float, float]] = {}  # loop -> (started, time limit)

    def succeeded(self, name: str) -> None:
        """A unit of loop `name` finished: its failure streak, if any, is over."""
        self._deaths.pop(name, None)
        self._streak.pop(name, None)
        if self.failures.pop(name, None) is not None:
            log.info("%s recovered", name)

    def failed(self, name: str, exc: BaseException) -> None:
        """A unit of loop `name` raised `exc`: log it (with its traceback the first time the
        error is seen in a row) and record it."""
        message = describe(exc)
        failure = self.failures.get(name)
        if failure is None or failure.error != message:
            log.error("%s failed, retrying after a pause: %s", name, message, exc_info=exc)
        if failure is None:
            self.failures[name] = Failure(message, time.monotonic())
        else:
            failure.error = message
            failure.count += 1

    def pause(self, name: str, interval: float) -> float:
        """Seconds until loop `name` runs its next unit: `interval`, doubled for each failure in
        a row (up to MAX_BACKOFF, or `interval` if that is longer)."""
        failure = self.failures.get(name)
        if failure is None:
            return interval
        return min(max(interval, 0.5) * 2.0 ** min(failure.count, 16), max(MAX_BACKOFF, interval))

    async def call(self, name: str, work: Callable[[], T], *, limit: float) -> T | None:
        """Run `work` in a worker thread as one unit of loop `name`; None if it raised (logged,
        recorded). Past `limit` seconds it counts among the `problems` until it ends."""
        self._running[name] = (time.monotonic(), limit)
        try:
            result = await asyncio.to_thread(work)
        except Exception as exc:
            self.failed(name, exc)
            return None
        finally:
            self._running.pop(name, None)
        self.succeeded(name)
        return result

    async def every(
        self, name: str, interval: float, work: Callable[[], object], limit: float
    ) -> None:
        """Run `work` as loop `name`'s unit every `interval` seconds (or after a longer pause
        once it fails), until cancelled."""
        while True:
            await self.call(name, work, limit=limit)
            await asyncio.sleep(self.pause(name, interval))

    def spawn(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        """Start `loop()` as a task that is started again whenever it ends or raises."""

        async def guarded() -> None:
            while True:
                try:
                    await loop()
                    raise RuntimeError("the loop ended")
                except Exception as exc:
                    why = describe(exc)
                    self._deaths[name] = (f"restarted after {why}", time.monotonic())
                    self._streak[name] += 1
                    self.restarts[name] += 1
                    log.error("%s stopped, restarting it: %s", name, why, exc_info=exc)
                await asyncio.sleep(min(2.0 ** min(self._streak[name], 16), MAX_BACKOFF))

        return asyncio.create_task(guarded(), name=name)

    def problems(self) -> dict[str, str]:
        """What is wrong with background work now, by loop name."""
        now = time.monotonic()
        found = {name: why for name, (why, at) in self._deaths.items() if now - at < DEATH_SHOWN}
        found |= {name: failure.error for name, failure in self.failures.items()}
        for name, (started, limit) in list(self._running.items()):
            if now - started > limit:
                found[name] = f"unit of work still running after {now - started:.0f} s"
        return found
