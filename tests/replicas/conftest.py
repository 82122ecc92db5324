"""Two real `toolgate serve` processes on one throw-away PostgreSQL database."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import BASE_CONFIG, free_port
from verifier.demo.daemon import Daemon
from verifier.store.engine import create_store_engine
from verifier.tokens import Scope, create_token


class Replica(Daemon):
    """`toolgate serve --config … --listen 127.0.0.1:PORT` as a child process, named a or b."""

    def __init__(self, name: str, config_path: Path) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        super().__init__(config_path, url, config_path.with_name(f"{name}.log"))
        self.name = name

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
        pair.a.spawn()
        if start_b:
            pair.b.start(timeout=30)
        pair.a.wait_ready(timeout=30)
        return pair

    yield start
    for replica in started:
        replica.stop()
