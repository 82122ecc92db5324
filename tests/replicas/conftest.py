"""Two real `toolgate serve` processes on one throw-away PostgreSQL database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.conftest import BASE_CONFIG, free_port
from verifier.store.engine import create_store_engine
from verifier.tokens import Scope, create_token

TOOLGATE = Path(sys.executable).with_name("toolgate")


class Replica:
    """`toolgate serve --config … --listen 127.0.0.1:PORT` as a child process."""

    def __init__(self, name: str, config_path: Path) -> None:
        self.name = name
        self.config_path = config_path
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log_path = config_path.with_name(f"{name}.log")
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Replica:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [TOOLGATE, "serve", "--config", self.config_path, "--listen", self.url[7:]],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return self

    def wait_ready(self, timeout: float = 30.0) -> Replica:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"replica {self.name} not ready within {timeout}s\n{self.log()}")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as systemd stops it; SIGKILL if it does not exit within 15 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def client(self, token: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=5)


def replica_config(store_url: str, *, server: str = "", github: str = "", extra: str = "") -> str:
    """The test inventory on `store_url`, with more `[server]` and `[github]` keys and TOML."""
    text = BASE_CONFIG.format(
        port=free_port(),
        store_url=store_url,
        mode="enforce",
        cooldown="0s",
        fast_path="true",
        trivy_extra="",
        github=github or 'poll_interval = "0s"',
    )
    for line in server.splitlines():  # a key the base sets is replaced, another one added
        key = line.partition("=")[0].strip()
        text, found = re.subn(rf"^{key} = .*$", line, text, count=1, flags=re.M)
        if not found:
            text = text.replace("[server]\n", f"[server]\n{line}\n", 1)
    return text + extra


@dataclass
class Pair:
    """Replicas A and B of one configuration and the database they share."""

    a: Replica
    b: Replica
    store_url: str

    def token(self, name: str, *scopes: Scope) -> str:
        engine = create_store_engine(self.store_url)
        try:
            return create_token(engine, name, set(scopes), "test")
        finally:
            engine.dispose()


@pytest.fixture
def replicas(tmp_path: Path, pg_database: Callable[[], str]) -> Iterator[Callable[..., Pair]]:
    """`replicas(server=…, github=…, extra=…)`: replicas A and B of one configuration on a
    fresh PostgreSQL database, started together (so they also race to migrate it) and ready;
    with `start_b=False` only A is started."""
    started: list[Replica] = []

    def start(*, start_b: bool = True, **config: str) -> Pair:
        pair = Pair(
            *(Replica(name, tmp_path / name / "config.toml") for name in "ab"), pg_database()
        )
        text = replica_config(pair.store_url, **config)
        for replica in (pair.a, pair.b):
            replica.config_path.parent.mkdir()
            replica.config_path.write_text(text, encoding="utf-8")
        started.extend((pair.a, pair.b))
        pair.a.start()
        if start_b:
            pair.b.start().wait_ready()
        pair.a.wait_ready()
        return pair

    yield start
    for replica in started:
        replica.stop()
