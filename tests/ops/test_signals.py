"""SIGHUP reloads (a valid configuration swaps in within a second; an invalid one is logged and
ignored) and SIGTERM under load (no accepted request fails, every answer is in the audit log)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import httpx

from tests.ops.conftest import DaemonProcess, create_token
from verifier.audit import query_audit
from verifier.config import Config
from verifier.store.engine import create_store_engine

SYFT = '\n[[tool]]\nname = "syft"\nsource = "github:anchore/syft"\n'


def _codes(client: httpx.Client, tool: str) -> list[str]:
    answer = client.get("/v1/decision", params={"tool": tool, "version": "1.0.0"}).json()
    return [reason["code"] for reason in answer["reasons"]]


def _decision(client: httpx.Client, tool: str) -> str:
    return client.get("/v1/decision", params={"tool": tool, "version": "1"}).json()["decision"]


def _reload_done(daemon: DaemonProcess, count: int) -> None:
    """Wait for the `count`-th reload to end (RELOADING=1 … READY=1)."""
    daemon.notify.wait_for("RELOADING", "1", count=count, timeout=10)
    daemon.notify.wait_for("READY", "1", count=count + 1, timeout=10)


def test_sighup_swaps_in_a_valid_config_and_keeps_the_old_one_when_invalid(
    write_config: Callable[..., Config], start_daemon: Callable[..., DaemonProcess]
):
    config = write_config()
    path = config.source_path
    token = create_token(path, "runner-1")
    daemon = start_daemon(path)
    daemon.notify.wait_for("READY", "1")
    client = daemon.client(token)
    assert _codes(client, "syft") == ["not-in-inventory"]

    # A valid configuration with a new tool and a new policy for tools not in the inventory:
    # the tool answers (as a known tool) once the reload is done, unknown ones get the new policy.
    original = path.read_text()
    assert 'unknown = "deny"' in original
    path.write_text(original.replace('unknown = "deny"', 'unknown = "warn"') + SYFT)
    daemon.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while _codes(client, "syft") == ["not-in-inventory"]:
        assert time.monotonic() < deadline, "the new tool never answered"
        time.sleep(0.02)
    assert _codes(client, "syft") == ["unknown-version"]
    assert _decision(client, "nope") == "warn"
    _reload_done(daemon, 1)
    assert daemon.notify.with_key("READY")[1].fields["STATUS"].startswith("serving 4 tools")

    # An invalid one (an unknown key on line 3): logged with file and line, nothing changes.
    path.write_text(original.replace("[server]\n", "[server]\nlisten_on = 1\n") + SYFT)
    daemon.process.send_signal(signal.SIGHUP)
    _reload_done(daemon, 2)
    # A change a reload cannot apply (the listener): refused the same way.
    path.write_text(original.replace("127.0.0.1:", "127.0.0.2:"))
    daemon.process.send_signal(signal.SIGHUP)
    _reload_done(daemon, 3)
    assert _codes(client, "syft") == ["unknown-version"]  # still the first reload's config
    assert _decision(client, "nope") == "warn"
    assert client.get("/readyz").json()["status"] == "ready"

    assert daemon.terminate() == 0
    errors = [r["message"] for r in daemon.log_records() if r["level"] == "ERROR"]
    assert len(errors) == 2, errors
    assert f"{path}:4: server.listen_on: unknown key" in str(errors[0])
    assert "still running on the previous one" in str(errors[0])
    assert "server.listen changed: restart toolgate to apply" in str(errors[1])
    infos = [str(r["message"]) for r in daemon.log_records()]
    assert any("configuration reloaded: 4 tools (added syft" in m for m in infos)


def test_sigterm_under_load_drains_and_flushes_every_answered_decision(
    write_config: Callable[..., Config], start_daemon: Callable[..., DaemonProcess]
):
    config = write_config()  # SQLite, audit flushed every second
    token = create_token(config.source_path, "load")
    daemon = start_daemon(config.source_path)
    daemon.notify.wait_for("READY", "1")
    answered: list[float] = []
    failures: list[tuple[float, str]] = []
    refused_at: list[float] = []
    done = threading.Event()

    def hammer() -> None:
        # A new connection per request: "accepted" is then well defined (connect succeeded).
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        with httpx.Client(base_url=daemon.url, headers=headers, timeout=10) as client:
            while not done.is_set():
                try:
                    response = client.get("/v1/decision", params={"tool": "trivy", "version": "1"})
                except httpx.ConnectError:
                    refused_at.append(time.monotonic())  # the listener is closed
                    if daemon.process.poll() is not None:
                        return
                    continue
                except httpx.TransportError as exc:
                    failures.append((time.monotonic(), repr(exc)))
                    continue
                if response.status_code == 200:
                    answered.append(time.monotonic())
                else:
                    failures.append((time.monotonic(), f"{response.status_code} {response.text}"))

    thread = threading.Thread(target=hammer)
    thread.start()
    time.sleep(1.5)
    assert answered, failures
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=30) == 0
    done.set()
    thread.join(timeout=30)

    assert refused_at, "the listener never closed"
    assert failures == [], failures
    engine = create_store_engine(config.store_url)
    logged = [row for row in query_audit(engine, limit=1_000_000) if row.token_name == "load"]
    engine.dispose()
    assert len(logged) == len(answered) > 50
    daemon.notify.wait_for("STOPPING", "1")
