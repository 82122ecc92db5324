"""A store populated through toolgate's public interfaces for report tests.

The inventory of tests/conftest.py plus the signed rfc8785 wheel, released on a fake GitHub and
verified by the real watcher; approvals, a block and a waiver through the CLI; the Trivy
advisories of March 2026 imported through the CLI; fetches written through the audit buffer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.watcher.conftest import REPO, SOURCE_COMMIT, rfc8785_tool, signed_release_files
from verifier.audit import AuditBuffer, AuditRecord
from verifier.cli import app
from verifier.config import Config
from verifier.demo.upstream import FakeGitHub
from verifier.inventory import sync_tools
from verifier.sources.github import GitHub
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.watcher import Watcher

OSV_TRIVY = Path(__file__).parents[1] / "data" / "osv-trivy-2026"
DIGEST_693 = "3" * 64
DIGEST_694 = "4" * 64
DIGEST_695 = "5" * 64


@dataclass
class Store:
    config: Config
    engine: Engine
    now: datetime  # a moment after everything was recorded: the reports' `now`

    def cli(self, *args: str) -> str:
        result = CliRunner().invoke(app, [*args, "--config", str(self.config.source_path)])
        assert result.exit_code == 0, result.output
        return result.output


def _fetch(tool: str, version: str, token: str, runner: str, at: datetime) -> AuditRecord:
    return AuditRecord(
        at=at,
        token_name=token,
        runner=runner,
        job=f"https://ci.example.org/{runner}/jobs/1",
        tool=tool,
        version=version,
        sha256=None,
        asset=None,
        decision="allow",
        would_deny=False,
        reasons_json='[{"code": "override"}]',
        revision=1,
    )


def _verify_release(config: Config, engine: Engine, github: FakeGitHub) -> None:
    github.add_commit(REPO, SOURCE_COMMIT)
    github.add_release(REPO, "v0.1.2", signed_release_files())
    client = httpx.Client(timeout=10, follow_redirects=False)
    source = GitHub(client, config.github.api_url, backoff=0.01, max_wait=5)
    watcher = Watcher(config, engine, client=client, github=source, upload_grace=timedelta(0))
    try:
        [report] = watcher.poll(watcher.tools(["rfc8785"]))
    finally:
        client.close()
    assert report.verified == ["v0.1.2"], report


@pytest.fixture
def populated(
    store_url: str, write_config: Callable[..., Config]
) -> Iterator[Callable[..., Store]]:
    """`populated(extra=TOML)`: the store described above, under a configuration with `extra`."""
    github = FakeGitHub().start()
    engines: list[Engine] = []

    def make(extra: str = "") -> Store:
        config = write_config(
            store_url,
            advisories=True,
            github=f'api_url = "{github.url}"\npoll_interval = "0s"',
            extra=rfc8785_tool() + extra,
        )
        engine = create_store_engine(config.store_url)
        engines.append(engine)
        upgrade(engine)
        sync_tools(engine, config)
        _verify_release(config, engine, github)
        store = Store(config, engine, datetime.now(UTC))
        store.cli("advisories", "import", str(OSV_TRIVY))
        for version, digest in (("0.69.3", DIGEST_693), ("0.69.4", DIGEST_694)):
            store.cli("approve", "trivy", version, "--sha256", digest, "--reason", "checked")
        store.cli("approve", "trivy", "0.69.5", "--sha256", DIGEST_695, "--reason", "rebuilt")
        store.cli("block", "trivy", "0.69.4", "--reason", "poisoned release, GHSA-69fq-xp46-6x23")
        store.cli(
            "advisories", "waive", "GHSA-69fq-xp46-6x23", "--tool", "trivy",
            "--versions", "==0.69.5", "--reason", "our own rebuild", "--expires", "30d",
        )  # fmt: skip
        buffer = AuditBuffer(engine, 1_000)
        before = store.now - timedelta(hours=2)
        for minute, (version, runner) in enumerate(
            [("0.69.4", "runner-1"), ("v0.69.4", "runner-1"), ("0.69.4", "runner-2"),
             ("0.69.3", "runner-3"), ("0.1.2", "runner-3")]
        ):  # fmt: skip
            tool = "rfc8785" if version == "0.1.2" else "trivy"
            at = before + timedelta(minutes=minute)
            buffer.append(_fetch(tool, version, "ci", runner, at))
        asyncio.run(buffer.flush())
        store.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        return store

    yield make
    github.stop()
    for engine in engines:
        engine.dispose()
