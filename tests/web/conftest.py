"""A toolgate server with a store populated through public interfaces, for the dashboard tests.

The fake GitHub publishes a signed release (verified, with evidence) and an action tag that is
later force-moved (a `tag-moved` incident after a runner fetched it); the CLI approves a trivy
version and imports the March 2026 OSV records (an `advisory` incident).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import LiveServer, wait_until
from tests.watcher.conftest import (  # noqa: F401 - fixtures used through `rig`
    ACTION_REPO,
    FORK_COMMIT,
    GOOD_COMMIT,
    REPO,
    SOURCE_COMMIT,
    Rig,
    fake_github,
    rfc8785_tool,
    rig,
    signed_release_files,
)
from verifier.audit import query_audit
from verifier.cli import app
from verifier.tokens import Scope

TRIVY_2026 = Path(__file__).resolve().parents[1] / "data" / "osv-trivy-2026"
APPROVED_SHA = "c" * 64
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Populated:
    """The populated server and a read and an admin token for it."""

    rig: Rig
    read_token: str
    admin_token: str

    @property
    def server(self) -> LiveServer:
        return self.rig.server

    @property
    def url(self) -> str:
        return self.server.url

    def browser(self) -> httpx.Client:
        """A cookie-keeping client, as a browser is (redirects not followed)."""
        return httpx.Client(base_url=self.url, timeout=10)


def cli(config: Path, *args: str) -> None:
    result = CliRunner().invoke(app, [*args, "--config", str(config)])
    assert result.exit_code in (0, 1), result.output  # 1: `advisories import` found affected


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    wait_until(predicate, "condition", timeout)


@pytest.fixture
def populated(rig: Callable[..., Rig]) -> Populated:  # noqa: F811 - the fixture imported above
    r = rig(rfc8785_tool(), advisories=True)
    config = r.server.config.source_path
    r.github.add_commit(REPO, SOURCE_COMMIT)
    r.github.add_release(REPO, "v0.1.2", signed_release_files())
    r.github.add_commit(ACTION_REPO, GOOD_COMMIT)
    r.github.set_tag(ACTION_REPO, "0.35.0", GOOD_COMMIT, annotated=True)
    r.poll("rfc8785", ACTION_REPO)
    with r.server.client(r.token) as client:
        headers = {"X-Toolgate-Runner": "runner-7", "X-Toolgate-Job": "https://ci.example/job/42"}
        params = {"tool": ACTION_REPO, "version": "0.35.0"}
        assert client.get("/v1/decision", params=params, headers=headers).json()["decision"] == (
            "allow"
        )
    wait_for(lambda: bool(query_audit(r.server.engine, tool=ACTION_REPO)))
    r.github.add_commit(ACTION_REPO, FORK_COMMIT, branch=None)
    r.github.set_tag(ACTION_REPO, "0.35.0", FORK_COMMIT)
    r.poll(ACTION_REPO)
    cli(config, "approve", "trivy", "0.69.4", "--sha256", APPROVED_SHA, "--reason", "hand-checked")
    cli(config, "advisories", "import", str(TRIVY_2026))
    r.server.service.refresh()
    return Populated(r, r.server.token("reader", Scope.READ), r.server.token("boss", Scope.ADMIN))


def login(client: httpx.Client, token: str) -> httpx.Response:
    """Log in through the form; returns the redirect answer."""
    return client.post("/ui/login", data={"token": token, "next": "/ui/"})


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)
