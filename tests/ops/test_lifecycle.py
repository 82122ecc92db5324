"""The daemon's life as systemd sees it: READY after migration and snapshot, STATUS, WATCHDOG
pings at half of WATCHDOG_USEC, STOPPING on SIGTERM, exit 0, and JSON log lines throughout."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from tests.ops.conftest import DaemonProcess, create_token
from verifier.config import Config
from verifier.daemon import status_text
from verifier.service import Service
from verifier.store.engine import create_store_engine
from verifier.store.migrate import current_revision, head_revision, upgrade


def test_ready_comes_after_migration_and_snapshot_then_watchdog_status_and_stopping(
    write_config: Callable[..., Config], start_daemon: Callable[..., DaemonProcess]
):
    config = write_config()  # an empty store: the daemon migrates it
    daemon = start_daemon(config.source_path, watchdog_usec=400_000)
    notify = daemon.notify

    ready = notify.wait_for("READY", "1")
    # The API answers the moment READY arrives: listener bound, first snapshot built.
    assert httpx.get(f"{daemon.url}/readyz", timeout=5).json()["status"] == "ready"
    engine = create_store_engine(config.store_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    before_ready = [m.fields["STATUS"] for m in notify.with_key("STATUS") if m.at < ready.at]
    assert "migrating the store" in before_ready
    assert any(s.startswith("starting") for s in before_ready)
    assert ready.fields["STATUS"].startswith("serving 3 tools, snapshot revision ")
    assert "release watcher off" in ready.fields["STATUS"]

    token = create_token(config.source_path, "runner-1")
    answer = _until_answered(daemon, token)
    assert answer["decision"] == "deny"

    pings = notify.wait_for("WATCHDOG", "1", count=6)
    assert pings is not None
    times = [m.at for m in notify.with_key("WATCHDOG")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Pinged every half of 400 ms, not flooding; no upper bound: a loaded machine only delays.
    assert statistics.median(gaps) > 0.15, gaps

    assert daemon.terminate() == 0
    stopping = notify.wait_for("STOPPING", "1")
    assert stopping.at > ready.at
    records = daemon.log_records()
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    messages = [r["message"] for r in records]
    assert any(str(m).startswith("toolgate serving 3 tools") for m in messages)
    assert messages[-1] == "stopped"


def test_no_notifications_without_notify_socket_and_text_logs_on_request(
    write_config: Callable[..., Config], start_daemon: Callable[..., DaemonProcess]
):
    config = write_config()
    text = config.source_path.read_text()
    config.source_path.write_text(text.replace("[server]\n", '[server]\nlog_format = "text"\n'))
    daemon = start_daemon(config.source_path, env={"NOTIFY_SOCKET": ""})
    _wait_ready(daemon)
    assert daemon.terminate() == 0
    assert daemon.notify.messages == []
    lines = daemon.log_lines()
    assert any(" INFO verifier.daemon: toolgate serving 3 tools" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)


def _wait_ready(daemon: DaemonProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert daemon.process.poll() is None, daemon.log_path.read_text()
        try:
            if httpx.get(f"{daemon.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("daemon did not become ready")


def _until_answered(daemon: DaemonProcess, token: str) -> dict[str, object]:
    """The decision for trivy 1.0 once the new token reached the snapshot (within ~1 s)."""
    deadline = time.monotonic() + 5
    with daemon.client(token) as client:
        while True:
            response = client.get("/v1/decision", params={"tool": "trivy", "version": "1.0"})
            if response.status_code == 200 or time.monotonic() > deadline:
                assert response.status_code == 200, response.text
                return response.json()
            time.sleep(0.05)


def test_status_line_names_the_last_poll_and_what_is_degraded(
    write_config: Callable[..., Config],
):
    config = write_config(github='poll_interval = "15m"')
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    service = Service(config, engine)
    service.start_sync()
    now = datetime(2026, 3, 19, 18, 30, tzinfo=UTC)
    revision = service.snapshot_at(now).revision
    assert status_text(service, now) == (
        f"serving 3 tools, snapshot revision {revision}, first poll running"
    )
    service.last_poll_at = datetime(2026, 3, 19, 18, 22, 5, tzinfo=UTC)
    service.store_error = "connection refused"
    service.stale_feeds = ["osv-go", "cisa-kev"]
    assert status_text(service, now) == (
        f"serving 3 tools, snapshot revision {revision}, last poll 2026-03-19 18:22:05Z, "
        "degraded: store unreachable; stale feeds osv-go, cisa-kev"
    )
    engine.dispose()
