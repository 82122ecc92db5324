"""The running service's state: configuration, store, current snapshot, audit buffer, metrics.

The API reads `snapshot_at(now)` on every request; background loops keep it current, each
supervised (verifier.supervise): a failing unit of work is logged, shown by /readyz and retried,
a loop that dies is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import threading
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from advisories import feed_states
from verifier.advisory_feeds import (
    advisory_client,
    due_feeds,
    failing_feeds,
    load_weigher,
    record_feed_incidents,
    refresh_incidents,
    stale_feeds,
    sync_feeds,
)
from verifier.advisory_policy import AdvisoryWeigher
from verifier.alerts.sender import AlertSender
from verifier.audit import AuditBuffer
from verifier.audit_writer import WriterProcess
from verifier.config import Config
from verifier.errors import ConfigError
from verifier.inventory import SyncReport, sync_tools
from verifier.leases import Leaser, new_holder
from verifier.metrics import DecisionMetrics
from verifier.reports.schedule import CHECK_SECONDS, send_weekly_report
from verifier.snapshot import Snapshot, build_snapshot
from verifier.store.revision import RevisionListener, read_revision
from verifier.supervise import Supervisor
from verifier.watcher import ToolReport, Watcher

log = logging.getLogger(__name__)
FEED_CHECK_SECONDS = 30
# How long one unit of work may run before /readyz counts it as stuck (it is not abandoned).
REFRESH_LIMIT = 5.0
POLL_LIMIT = 300.0
FEEDS_LIMIT = 900.0  # a whole-ecosystem archive is a few hundred MB
REPORT_LIMIT = 600.0


class Service:
    """Owns the snapshot and the background work that keeps it and the audit trail current."""

    def __init__(self, config: Config, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.audit = AuditBuffer(
            engine,
            config.audit.buffer_limit,
            durable=config.audit.durable,
            writer=WriterProcess(config.store_url),  # the inserts never hold this process's GIL
        )
        self.metrics = DecisionMetrics()
        self.alerts = AlertSender(config, engine, self.current_snapshot)
        self.leaser = Leaser(engine, config.server.lease)  # this replica's background work
        self._snapshot: Snapshot | None = None
        self._refresh_lock = threading.Lock()
        self._weigher: tuple[int, AdvisoryWeigher] | None = None
        self.supervisor = Supervisor()
        self.stale_feeds: list[str] = []
        self.failing_feeds: dict[str, str] = {}  # feed -> the error of its last attempt
        # tool -> (first, last) failure of its current streak of failed polls by this process
        self.poll_failures: dict[str, tuple[datetime, datetime]] = {}
        self.last_refresh_ok_at: datetime | None = None
        self.store_error: str | None = None
        self.last_poll_at: datetime | None = None  # the release watcher's last finished poll
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    def snapshot_at(self, now: datetime) -> Snapshot:
        """The snapshot that answers at `now` (time-dependent answers recomputed if due)."""
        snapshot = self._snapshot
        if snapshot is None:
            raise RuntimeError("no snapshot yet: the service has not started")
        if snapshot.expired(now):
            snapshot = self._snapshot = snapshot.advance(now)
        return snapshot

    def current_snapshot(self) -> Snapshot:
        """The snapshot of the store as it is now (rebuilt first if its revision moved): what
        alerts are re-checked against just before they are sent."""
        self.refresh()
        return self.snapshot_at(datetime.now(UTC))

    def staleness(self, now: datetime) -> float | None:
        """Seconds since the store was last read successfully."""
        if self.last_refresh_ok_at is None:
            return None
        return (now - self.last_refresh_ok_at).total_seconds()

    def _current_weigher(self) -> AdvisoryWeigher:
        """The advisory index, reloaded only when the advisory data changed."""
        with self.engine.connect() as connection:
            counter = read_revision(connection, "advisories")
        if self._weigher is None or self._weigher[0] != counter:
            self._weigher = (counter, load_weigher(self.engine, self.config))
            gc.collect()
            gc.freeze()  # the index is long-lived: keep the collector from rescanning it
        return self._weigher[1]

    def start_sync(self) -> None:
        """Sync the inventory from the configuration and build the first snapshot."""
        try:
            sync_tools(self.engine, self.config)
        except IntegrityError:  # another replica, starting at the same moment, added them first
            sync_tools(self.engine, self.config)
        self._snapshot = build_snapshot(self.engine, self.config, self._current_weigher())
        gc.collect()
        gc.freeze()  # the long-lived heap (modules, app, first snapshot) leaves the GC's full scans
        self.last_refresh_ok_at = datetime.now(UTC)

    def refresh(self) -> bool:
        """Rebuild the snapshot if the store revision moved; True when it was swapped (one
        rebuild at a time: the refresher and the alert sender both ask)."""
        with self._refresh_lock:
            return self._refresh()

    def _refresh(self) -> bool:
        try:
            with self.engine.connect() as connection:
                revision = read_revision(connection)
            swapped = False
            if self._snapshot is None or revision != self._snapshot.revision:
                weigher = self._current_weigher()
                self._snapshot = build_snapshot(self.engine, self.config, weigher)
                swapped = True
                refresh_incidents(self.engine, self.config, weigher, self._snapshot.tools)
        except SQLAlchemyError as exc:
            message = str(exc).splitlines()[0]
            if self.store_error != message:
                log.error("store unreachable, answering from the last snapshot: %s", message)
            self.store_error = message
            return False
        self.store_error = None
        self.last_refresh_ok_at = datetime.now(UTC)
        return swapped

    async def _refresh_loop(self) -> None:
        """Refresh every `snapshot_interval`, and at once when PostgreSQL notifies a new revision
        (a fact written by any replica); polling stays as the fallback while the listener is
        disconnected."""
        interval = self.config.server.snapshot_interval.total_seconds()
        wake = asyncio.Event()
        listener = None
        if self.engine.dialect.name == "postgresql" and self.config.store.notify:
            loop = asyncio.get_running_loop()
            listener = RevisionListener(self.engine, lambda: loop.call_soon_threadsafe(wake.set))
            listener.start()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), interval)
                wake.clear()
                await self.supervisor.call("snapshot-refresh", self.refresh, limit=REFRESH_LIMIT)
                if listener is not None and not listener.alive:
                    raise RuntimeError("the revision listener thread died")
        finally:
            if listener is not None:
                listener.stop()

    async def start_background(self) -> None:
        """Start the background loops, supervised: the snapshot refresher, the audit writer, the
        alert sender, and the release watcher, feed syncs and weekly report if configured."""
        await asyncio.to_thread(self.start_sync)
        self.leaser.lease = self.config.server.lease  # a reload may have changed it
        # A reload starts afresh: problems of loops or feeds the new configuration may lack.
        self.supervisor = Supervisor()
        self.stale_feeds, self.failing_feeds = [], {}
        flush_interval = self.config.audit.flush_interval.total_seconds()
        loops = {
            "snapshot-refresh": self._refresh_loop,
            "audit-writer": lambda: self.audit.run(flush_interval),
            "alert-sender": self.alerts.run,
        }
        if self.config.github.poll_interval:
            loops["release-watcher"] = self._watch_loop
        if self.config.feeds:
            loops["advisory-feeds"] = self._feeds_loop
        if self.config.reports.weekly:
            loops["weekly-report"] = self._weekly_loop
        self._tasks = [self.supervisor.spawn(name, loop) for name, loop in loops.items()]

    def sync_due_feeds(self, client: httpx.Client) -> None:
        """Sync the feeds whose interval has passed and that no other replica is syncing (one
        sync per feed interval across replicas; one feed's failure is its own, logged with its
        name); record an incident for each stale or failing feed."""
        due = due_feeds(self.engine, self.config, datetime.now(UTC))
        local: dict[str, str] = {}  # failures the store may not hold (an unreadable token)
        if due:
            outcomes = sync_feeds(
                self.engine, self.config, client, names=due, leaser=self.leaser, due_only=True
            )
            for outcome in outcomes:
                if outcome.error:
                    log.warning("advisory feed %s failed: %s", outcome.feed, outcome.error)
                    local[outcome.feed] = outcome.error
            if outcomes:
                self.refresh()
        states = feed_states(self.engine)
        self.stale_feeds = stale_feeds(states, self.config, datetime.now(UTC))
        self.failing_feeds = failing_feeds(states, self.config) | local
        if self.stale_feeds or self.failing_feeds:
            record_feed_incidents(self.engine, self.config, self.stale_feeds, self.failing_feeds)

    async def _feeds_loop(self) -> None:
        """Check which feeds are due every `FEED_CHECK_SECONDS` (or half a lease, if shorter:
        a crashed replica's sync is taken over soon after its lease runs out), and sync them."""
        check = min(FEED_CHECK_SECONDS, self.config.server.lease.total_seconds() / 2)
        with advisory_client(self.config) as client:
            await self.supervisor.every(
                "advisory-feeds", check, lambda: self.sync_due_feeds(client), limit=FEEDS_LIMIT
            )

    async def _weekly_loop(self) -> None:
        """Check every `CHECK_SECONDS` whether the week's report is due, and send it."""
        holder = new_holder()
        await self.supervisor.every(
            "weekly-report",
            CHECK_SECONDS,
            lambda: send_weekly_report(self.engine, self.config, datetime.now(UTC), holder),
            limit=REPORT_LIMIT,
        )

    async def _watch_loop(self) -> None:
        """Poll each tool at start and then every `[github] poll_interval`, counting polls by
        any replica (leases); due tools are looked for every half interval or half lease, so
        a crashed replica's polls are taken over soon after its lease runs out."""
        interval, lease = self.config.github.poll_interval, self.config.server.lease
        tick = min(interval, lease).total_seconds() / 2
        try:
            watcher = Watcher(self.config, self.engine, leaser=self.leaser)
        except ConfigError as exc:  # e.g. an unreadable token file: serve on, say why, retry
            raise ConfigError(f"release watcher not started: {exc}") from None
        try:
            while True:
                poll = functools.partial(watcher.poll, due_only=True)
                reports = await self.supervisor.call("release-watcher", poll, limit=POLL_LIMIT)
                if reports is not None:
                    self.last_poll_at = datetime.now(UTC)
                    self._record_poll_failures(reports, self.last_poll_at)
                    if any(r.new or r.verified or r.rejected or r.incidents for r in reports):
                        await asyncio.to_thread(self.refresh)
                await asyncio.sleep(self.supervisor.pause("release-watcher", tick))
        finally:
            watcher.stop()

    def _record_poll_failures(self, reports: list[ToolReport], now: datetime) -> None:
        for report in reports:
            if report.error:
                first = self.poll_failures.get(report.tool, (now, now))[0]
                self.poll_failures[report.tool] = (first, now)
            elif not report.elsewhere:
                self.poll_failures.pop(report.tool, None)

    def stale_upstreams(self, now: datetime) -> list[str]:
        """Tools this process has failed to poll for over two poll intervals (the watcher is
        blind to them: a moved tag would go unseen). A streak not extended for that long means
        another replica polls the tool now, and no longer counts."""
        window = 2 * self.config.github.poll_interval
        return sorted(
            tool
            for tool, (first, last) in self.poll_failures.items()
            if now - first > window and now - last <= window
        )

    async def reload(self, config: Config) -> SyncReport:
        """Run on a new, validated configuration (SIGHUP): its inventory is synced first (if the
        store cannot take it, nothing changes and the error propagates), then background work
        restarts on it with a snapshot rebuilt from it; answers use the old snapshot meanwhile."""
        report = await asyncio.to_thread(sync_tools, self.engine, config)
        await self.stop()
        self.config = config
        self.alerts = AlertSender(config, self.engine, self.current_snapshot)
        self._weigher = None
        await self.start_background()
        return report

    async def stop(self) -> None:
        """Stop background work, give back its leases, flush the audit buffer and stop its
        writer (a restart of background work starts it again)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        try:  # other replicas take our polls and syncs over at once instead of at expiry
            await asyncio.to_thread(self.leaser.release_all)
        except SQLAlchemyError as exc:
            log.warning("leases not given back (they run out by themselves): %s", exc)
        await self.audit.close()
