"""`toolgate serve` as a supervised daemon: sd_notify lifecycle, SIGHUP reload, graceful SIGTERM.

- READY=1 once the store is migrated, the inventory synced, the first snapshot built and the
  listener bound (the API answers from that moment); STATUS= says what the daemon is doing.
- WATCHDOG=1 from a task on the event loop at half of `WATCHDOG_USEC`: a blocked loop stops the
  pings, and systemd restarts the service.
- SIGHUP: RELOADING=1, read and validate the configuration; a valid one is swapped in (inventory
  synced, snapshot rebuilt, background work restarted on it), an invalid one is logged with its
  file and line and the daemon runs on unchanged; then READY=1.
- SIGTERM/SIGINT: STOPPING=1, stop accepting, drain in-flight requests, stop background work,
  flush the audit buffer, exit 0. A second signal stops without draining.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from verifier.api.app import create_app
from verifier.config import Config, load_config, read_secret, secret_references
from verifier.errors import ConfigError
from verifier.health import background_problems
from verifier.logs import configure_logging
from verifier.notify import Notifier
from verifier.service import Service

log = logging.getLogger(__name__)
STATUS_SECONDS = 2.0  # how often STATUS= is refreshed (sent only when it changed)
DRAIN_SECONDS = 10  # in-flight requests get this long after SIGTERM
ACCEPTED_GRACE_SECONDS = 0.25  # for requests on connections accepted just before the close


def with_listen(config: Config, listen: str | None) -> Config:
    """`config` with `[server] listen` replaced by a command-line `--listen`, if given."""
    if not listen:
        return config
    return config.model_copy(update={"server": config.server.model_copy(update={"listen": listen})})


def needs_restart(old: Config, new: Config) -> list[str]:
    """The keys whose change a reload cannot apply (the listener, the store, the audit buffer)."""
    pairs = {
        "state_dir": (old.state_dir, new.state_dir),
        "store.url": (old.store_url, new.store_url),
        "server.listen": (old.server.listen, new.server.listen),
        "server.fast_path": (old.server.fast_path, new.server.fast_path),
        "audit.buffer_limit": (old.audit.buffer_limit, new.audit.buffer_limit),
        "audit.durable": (old.audit.durable, new.audit.durable),
    }
    return [key for key, (before, after) in pairs.items() if before != after]


def register_secrets(config: Config) -> None:
    """Read every configured secret once, so the log redacts it even before its first use.

    Unreadable ones are left to the component that needs them (and to `toolgate doctor`)."""
    for _key, reference in secret_references(config):
        with contextlib.suppress(ConfigError):
            read_secret(reference, config)


def status_text(service: Service, now: datetime) -> str:
    """One line for `systemctl status`: tools, snapshot revision, last poll, what is degraded."""
    count = len(service.config.tools)
    parts = [f"serving {count} tool{'' if count == 1 else 's'}"]
    if service.ready:
        parts.append(f"snapshot revision {service.snapshot_at(now).revision}")
    if not service.config.github.poll_interval:
        parts.append("release watcher off")
    elif service.last_poll_at is not None:
        parts.append(f"last poll {service.last_poll_at:%Y-%m-%d %H:%M:%S}Z")
    else:
        parts.append("first poll running")
    problems = []
    if service.store_error:
        problems.append("store unreachable")
    if service.audit.problem:
        problems.append("audit records not stored")
    if failing := background_problems(service):
        problems.append(f"failing {', '.join(sorted(failing))}")
    if service.failing_feeds:
        problems.append(f"failing feeds {', '.join(sorted(service.failing_feeds))}")
    if service.stale_feeds:
        problems.append(f"stale feeds {', '.join(service.stale_feeds)}")
    if problems:
        parts.append(f"degraded: {'; '.join(problems)}")
    return ", ".join(parts)


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling, telling us when it listens."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the Daemon installs its handlers on the event loop

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn closes every connection without a request in progress at once, including one
        # accepted a moment ago whose request is still in flight: the runner would see a reset.
        # Stop accepting first, and give such connections a moment to deliver their request.
        for server in self.servers:
            server.close()
        await asyncio.sleep(ACCEPTED_GRACE_SECONDS)
        await super().shutdown(sockets)


class Daemon:
    """One `toolgate serve` process: the API server, the service behind it, systemd's view."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        engine: Engine,
        *,
        listen: str | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.config_path = config_path
        self.listen = listen
        self.notifier = notifier or Notifier()
        self.service = Service(config, engine)
        self._uvicorn = uvicorn.Config(
            create_app(self.service),
            host=config.server.host,
            port=config.server.port,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_config=None,  # our handler (verifier.logs) formats uvicorn's records too
            log_level="warning",
            timeout_graceful_shutdown=DRAIN_SECONDS,
        )
        self._server = _Server(self._uvicorn, self._started)
        self._tasks: set[asyncio.Task[None]] = set()
        self._reload: asyncio.Task[None] | None = None
        self._reload_again = False

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT (then drain, flush and return)."""
        register_secrets(self.service.config)
        with asyncio.Runner(loop_factory=self._uvicorn.get_loop_factory()) as runner:
            runner.run(self._main())

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop)
        loop.add_signal_handler(signal.SIGINT, self._stop)
        loop.add_signal_handler(signal.SIGHUP, self._request_reload)
        if self.notifier.watchdog_interval:
            self._spawn(self._watchdog(self.notifier.watchdog_interval), "watchdog")
        self.notifier.status("starting: syncing the inventory, building the first snapshot")
        try:
            await self._server.serve()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._reload is not None:
                # A reload racing the shutdown may have restarted background work after the
                # lifespan stopped it: let it finish, then stop (and flush) once more.
                await asyncio.gather(self._reload, return_exceptions=True)
                await self.service.stop()
            self.notifier.close()
        log.info("stopped")

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.add(asyncio.create_task(coroutine, name=name))

    def _started(self) -> None:
        config = self.service.config
        log.info(
            "toolgate serving %d tools on http://%s",
            len(config.tools),
            config.server.listen,
            extra={"listen": config.server.listen, "store": _store_label(self.service.engine)},
        )
        status = status_text(self.service, datetime.now(UTC))
        self.notifier.ready(status)
        self._spawn(self._report_status(status), "status")

    def _stop(self) -> None:
        if self._server.should_exit:
            log.warning("second stop signal: exiting without draining")
            self._server.force_exit = True
            return
        log.info("stopping: draining requests, then flushing the audit trail")
        self.notifier.stopping()
        self._server.should_exit = True

    def _request_reload(self) -> None:
        if self._server.should_exit:
            return
        if self._reload is not None and not self._reload.done():
            self._reload_again = True  # read the file once more when this reload ends
            return
        self._reload = asyncio.create_task(self._reload_config(), name="reload")

    async def _reload_config(self) -> None:
        self.notifier.reloading()
        log.info("reloading the configuration from %s", self.config_path)
        try:
            await self._apply(self.config_path)
        finally:
            self.notifier.ready(status_text(self.service, datetime.now(UTC)))
        if self._reload_again and not self._server.should_exit:
            self._reload_again = False
            self._reload = asyncio.create_task(self._reload_config(), name="reload")

    async def _apply(self, path: Path) -> None:
        try:
            config = with_listen(await asyncio.to_thread(load_config, path), self.listen)
            if changed := needs_restart(self.service.config, config):
                raise ConfigError(
                    f"{path}: {', '.join(changed)} changed: restart toolgate to apply "
                    "(a reload cannot move the listener, the store or the audit buffer)"
                )
            register_secrets(config)
            report = await self.service.reload(config)
        except ConfigError as exc:
            log.error("configuration not reloaded, still running on the previous one: %s", exc)
            return
        except SQLAlchemyError as exc:
            log.error(
                "configuration not reloaded, the store could not take it: %s",
                str(exc).splitlines()[0],
            )
            return
        configure_logging(config.server.log_format, config.server.log_level)
        log.info(
            "configuration reloaded: %d tools (added %s, updated %s, removed %s)",
            len(config.tools),
            ", ".join(report.added) or "none",
            ", ".join(report.updated) or "none",
            ", ".join(report.removed) or "none",
        )

    async def _watchdog(self, interval: float) -> None:
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    async def _report_status(self, last: str) -> None:
        while True:
            await asyncio.sleep(STATUS_SECONDS)
            text = status_text(self.service, datetime.now(UTC))
            if text != last:
                self.notifier.status(text)
                last = text


def _store_label(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
