"""Shared fixtures: stores on SQLite and on the real PostgreSQL, configurations, a live server."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import Engine

from verifier.api.app import create_app
from verifier.config import Config, load_config
from verifier.demo.loopback import free_port
from verifier.service import Service
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.tokens import Scope, create_token

# The shared fixtures (real public data), vendored: see tests/fixtures/README.md.
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def wait_until(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after a generous `timeout` (a deadline
    for a loaded machine, never a measured duration)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.05)


def run_python(script: str) -> None:
    """Run `script` in a fresh interpreter (so it sees what a new process imports); fail with
    its stderr unless it exits 0."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


PG_SERVER = os.environ.get("TOOLGATE_TEST_PG", "postgres@127.0.0.1:5432")

BASE_CONFIG = """\
state_dir = "state"

[server]
listen = "127.0.0.1:{port}"
snapshot_interval = "1s"
fast_path = {fast_path}

[store]
url = "{store_url}"

[policy]
unknown = "deny"
mode = "{mode}"
cooldown = "{cooldown}"

[audit]
flush_interval = "1s"

[github]
{github}

[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"
versions = [">=0.60,<0.69.4", "0.69.3", ">=0.69.7"]
{trivy_extra}
[[tool]]
name = "aquasecurity/trivy-action"
source = "github:aquasecurity/trivy-action"
kind = "action"
versions = [">=0.35.0"]

[[tool]]
name = "cosign"
source = "github:sigstore/cosign"
mode = "warn"
"""


_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and raw addresses of other families
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host.lower() in _LOOPBACK_NAMES


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Tests talk to servers on this machine only: any other destination fails loudly."""
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):  # type: ignore[index]
            raise OSError(f"test tried to reach {address}: tests may only use loopback")
        return real_connect(sock, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host is not None and not _is_loopback(host if isinstance(host, str) else str(host)):
            raise OSError(f"test tried to resolve {host!r}: tests may only use loopback")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]
    socket.getaddrinfo = real_getaddrinfo


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Callable[[], str]]:
    """Makes throw-away PostgreSQL databases; they are dropped once the session ends."""
    created: list[str] = []

    def make() -> str:
        name = f"toolgate_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql+psycopg://{PG_SERVER}/{name}"

    yield make
    if created:
        _drop_in_background(created)


# Each DROP DATABASE waits for a checkpoint: on a loaded machine dropping a session's hundred
# databases took longer than the last test's timeout. A detached process drops them after pytest.
_DROP_SCRIPT = """
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    for name in sys.argv[2:]:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
"""


def _drop_in_background(names: list[str]) -> None:
    """Drop this session's throw-away databases in a process that outlives the test run."""
    subprocess.Popen(
        [sys.executable, "-c", _DROP_SCRIPT, f"postgresql://{PG_SERVER}/postgres", *names],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: Callable[[], str]
) -> str:
    """A fresh, empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'toolgate.db'}"
    return pg_database()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = create_store_engine(store_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Config]:
    """Write a configuration (the base inventory plus `extra` TOML) and load it; `github` is the
    body of the `[github]` table (default: the release watcher off); `advisories` maps trivy to
    its Go advisory package."""

    def write(
        store_url: str | None = None,
        *,
        extra: str = "",
        mode: str = "enforce",
        cooldown: str = "0s",
        fast_path: bool = True,
        extra_server: str = "",
        github: str = 'poll_interval = "0s"',
        advisories: bool = False,
    ) -> Config:
        path = tmp_path / "config.toml"
        url = store_url or f"sqlite:///{tmp_path / 'toolgate.db'}"
        text = BASE_CONFIG.format(
            port=free_port(),
            store_url=url,
            mode=mode,
            cooldown=cooldown,
            fast_path=str(fast_path).lower(),
            trivy_extra='advisories = ["Go:github.com/aquasecurity/trivy"]\n' if advisories else "",
            github=github,
        )
        text = text.replace("[server]\n", "[server]\n" + extra_server, 1)
        path.write_text(text + extra, encoding="utf-8")
        return load_config(path)

    return write


class LiveServer:
    """A real uvicorn server on loopback running the toolgate app, for API tests."""

    def __init__(self, config: Config, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.service = Service(config, engine)
        self.url = f"http://{config.server.listen}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.service),
                host=config.server.host,
                port=config.server.port,
                log_level="warning",
                lifespan="on",
                proxy_headers=False,  # as the daemon runs it: [server] trusted_proxies decides
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)

    def token(self, name: str, *scopes: Scope) -> str:
        token = create_token(self.engine, name, set(scopes or (Scope.CHECK,)), "test")
        self.service.refresh()
        return token

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


@pytest.fixture
def live_server(
    write_config: Callable[..., Config], store_url: str
) -> Iterator[Callable[..., LiveServer]]:
    """Start a server on a store (both backends); extra config keywords go to `write_config`."""
    servers: list[LiveServer] = []

    def start(**options: object) -> LiveServer:
        config = write_config(store_url, **options)
        engine = create_store_engine(config.store_url)
        upgrade(engine)
        server = LiveServer(config, engine).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        server.engine.dispose()
