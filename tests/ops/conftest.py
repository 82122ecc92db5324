"""`toolgate serve` as a real subprocess, with a datagram socket standing in for systemd."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from tests.alerts.conftest import mail_server, tls, webhook  # noqa: F401 (fixtures)
from verifier.cli import app
from verifier.demo.upstream import FakeGitHub

TOOLGATE = Path(sys.executable).with_name("toolgate")


@dataclass
class Notification:
    at: float  # time.monotonic() when received
    fields: dict[str, str]


class NotifySocket:
    """An AF_UNIX datagram socket like systemd's: records every sd_notify message."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="tg-notify-")  # short: sun_path is 108 bytes
        self.path = os.path.join(self._dir, "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.1)
        self.messages: list[Notification] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if line)
            with self._lock:
                self.messages.append(Notification(time.monotonic(), fields))

    def with_key(self, key: str, value: str | None = None) -> list[Notification]:
        with self._lock:
            return [
                m
                for m in self.messages
                if key in m.fields and (value is None or m.fields[key] == value)
            ]

    def wait_for(self, key: str, value: str | None = None, *, count: int = 1, timeout=30.0):
        """The `count`-th message carrying `key` (= `value`), waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.with_key(key, value)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.01)
        raise AssertionError(f"no {key}={value} (x{count}) within {timeout}s: {self.messages}")

    def close(self) -> None:
        self._closed = True
        self._thread.join(timeout=2)
        self._sock.close()
        os.unlink(self.path)
        os.rmdir(self._dir)


@dataclass
class DaemonProcess:
    """A running `toolgate serve`; stderr (the log) goes to `log_path`, stdout beside it."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    notify: NotifySocket
    tokens: dict[str, str] = field(default_factory=dict)

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8").splitlines()

    def log_records(self) -> list[dict[str, object]]:
        """Every log line, parsed (a line that is not a JSON object fails the test)."""
        records = []
        for line in self.log_lines():
            record = json.loads(line)
            assert isinstance(record, dict), line
            records.append(record)
        return records

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def terminate(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def toolgate(*args: str, env: dict[str, str] | None = None) -> Done:
    """Run a toolgate command in this process (`env` is added to the environment); the daemon
    itself always runs as a real subprocess."""
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


def create_token(config: Path, name: str, scope: str = "check") -> str:
    """`toolgate token create`: the new token."""
    done = toolgate("token", "create", "--name", name, "--scope", scope, "-c", str(config))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class GitHubWithRateLimit(FakeGitHub):
    """The fake GitHub plus `GET /rate_limit`, which checks the bearer token as GitHub does."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.authorizations: list[str] = []  # the Authorization header of each request

    def _answer(self, raw_path: str, request_headers: Any) -> tuple[int, dict[str, str], bytes]:
        self.authorizations.append(request_headers.get("Authorization", ""))
        if urlsplit(raw_path).path != "/rate_limit":
            return super()._answer(raw_path, request_headers)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if request_headers.get("Authorization") != f"Bearer {self.token}":
            return 401, headers, b'{"message": "Bad credentials"}'
        core = {"limit": 5000, "remaining": 4321, "reset": int(time.time()) + 1800, "used": 679}
        return 200, headers, json.dumps({"resources": {"core": core}, "rate": core}).encode()


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    yield sock
    sock.close()


@pytest.fixture
def start_daemon(
    tmp_path: Path, notify_socket: NotifySocket
) -> Iterator[Callable[..., DaemonProcess]]:
    """Start `toolgate serve --config CONFIG` with NOTIFY_SOCKET and WATCHDOG_USEC set."""
    started: list[DaemonProcess] = []

    def start(
        config: Path,
        *,
        watchdog_usec: int = 400_000,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> DaemonProcess:
        from verifier.config import load_config

        listen = load_config(config).server.listen
        log_path = tmp_path / f"daemon-{len(started)}.log"
        process = subprocess.Popen(
            [str(TOOLGATE), "serve", "--config", str(config)],
            cwd=config.parent,
            env={
                **os.environ,
                "NOTIFY_SOCKET": notify_socket.path,
                "WATCHDOG_USEC": str(watchdog_usec),
                "PYTHONUNBUFFERED": "1",
                **(env or {}),
            },
            stdout=log_path.with_suffix(".out").open("wb"),
            stderr=log_path.open("wb"),
            preexec_fn=preexec_fn,
        )
        daemon = DaemonProcess(process, f"http://{listen}", log_path, notify_socket)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait(timeout=10)
