"""A scan rig: an inventory, a SQLite store with the pins the watcher would have recorded, and
the fake GitHub on loopback answering for repositories toolgate never pinned."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from verifier.cli import app
from verifier.config import Config, load_config
from verifier.demo.upstream import FakeGitHub
from verifier.inventory import sync_tools
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.store.models import AssetRow, CommitCheckRow, ReleaseRow, TagPinRow

CORPUS = Path(__file__).parent / "corpus"

CHECKOUT_V422 = "11bd71901bbe5b1630ceea73d27597364c9af683"
IMPOSTOR = "deadbeef" * 5
ACTION_0331_FIRST = "6e7b7d1fd3e4fef0c5fa8cce1229c54b2c9bd0d8"
ACTION_0331_EVIL = "ddf5d9a3cbd16eb5e1b52b0ad8c1c5e2f24c3cd1"
ACTION_0350 = "b6643a29fecd7f34b3597bc6acb0a98b03d33ff8"
SETUP_022 = "1c3cd93bb5f0d1ec6e9e5ad46c8b1f7d6e0a9b12"
SETUP_026 = "3fb12ec12f41e471780db15c232d5dd185dcb514"
SETUP_GO_V510 = "41dfa10bad2bb2ae585af6ee5bb4d7d973ad74ed"
LOGIN_V330 = "9780b0c442fbb1117ed29e0efdff1e18412f7567"
BUILD_PUSH_V690 = "4f58ea79222b3b9dc2c8bbdd6debcef730109a75"
BUILD_PUSH_V690_REAL = "4f58ea79222b3b9dc2c8bbdd6debcef730109a76"
TRIVY_0693_ASSET = "trivy_0.69.3_Linux-64bit.tar.gz"

INVENTORY = """\
state_dir = "state"

[store]
url = "sqlite:///{db}"

[github]
api_url = "{api_url}"
{token_line}

[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"
versions = [">=0.60,<0.69.4", ">=0.69.7"]

[[tool]]
name = "aquasecurity/trivy-action"
source = "github:aquasecurity/trivy-action"
kind = "action"
versions = [">=0.35.0"]

[[tool]]
name = "aquasecurity/setup-trivy"
source = "github:aquasecurity/setup-trivy"
kind = "action"

[[tool]]
name = "actions/checkout"
source = "github:actions/checkout"
kind = "action"

[[tool]]
name = "goreleaser"
source = "github:goreleaser/goreleaser"

[[tool]]
name = "semgrep"
source = "pypi:semgrep"
versions = ["1.85.0"]
"""


@dataclass
class ScanRig:
    config: Config
    github: FakeGitHub
    tmp_path: Path

    def tree(self, case: str) -> Path:
        """A private copy of a corpus case (scans may rewrite it)."""
        target = self.tmp_path / "trees" / case
        shutil.copytree(CORPUS / case, target, symlinks=True)
        return target

    def run(self, *args: str) -> tuple[int, str]:
        """`toolgate scan ARGS --config …`: the exit code and stdout."""
        result = CliRunner().invoke(app, ["scan", *args, "--config", str(self.config.source_path)])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout

    def json(self, *args: str) -> tuple[int, dict]:
        code, out = self.run(*args, "--format", "json")
        return code, json.loads(out)


def _seed(config: Config) -> None:
    engine = create_store_engine(config.store_url)
    upgrade(engine)
    sync_tools(engine, config)
    first = datetime.now(UTC) - timedelta(days=30)
    moved = {
        "code": "tag-moved",
        "expected": f"tag 0.33.1 at {ACTION_0331_FIRST}",
        "found": f"tag 0.33.1 at {ACTION_0331_EVIL}",
    }
    with Session(engine) as session:
        for tool, tag, commit, current, status, changes in (
            ("actions/checkout", "v4.2.2", CHECKOUT_V422, CHECKOUT_V422, "verified", []),
            (
                "aquasecurity/trivy-action",
                "0.33.1",
                ACTION_0331_FIRST,
                ACTION_0331_EVIL,
                "verified",
                [moved],
            ),
            ("aquasecurity/trivy-action", "0.35.0", ACTION_0350, ACTION_0350, "verified", []),
            ("aquasecurity/setup-trivy", "v0.2.2", SETUP_022, SETUP_022, "verified", []),
            ("aquasecurity/setup-trivy", "v0.2.6", SETUP_026, SETUP_026, "verified", []),
        ):
            session.add(
                TagPinRow(
                    tool=tool, tag=tag, commit=commit, current_commit=current, first_seen_at=first
                )
            )
            session.add(
                ReleaseRow(
                    tool=tool,
                    version=tag,
                    status=status,
                    first_seen_at=first,
                    verified_at=first,
                    commit=commit,
                    evidence_json=json.dumps({"changes": changes}),
                )
            )
        trivy_0693 = ReleaseRow(
            tool="trivy",
            version="v0.69.3",
            status="verified",
            first_seen_at=first,
            verified_at=first,
        )
        session.add(trivy_0693)
        session.add(
            ReleaseRow(
                tool="trivy",
                version="v0.69.4",
                status="rejected",
                first_seen_at=first,
                reasons_json=json.dumps(
                    [
                        {
                            "code": "commit-not-on-branch",
                            "expected": "a commit reachable from main",
                            "found": "1885610c (tag v0.69.4)",
                        }
                    ]
                ),
            )
        )
        session.flush()
        session.add(AssetRow(release_id=trivy_0693.id, name=TRIVY_0693_ASSET, sha256="a" * 64))
        session.add(
            CommitCheckRow(
                repository="actions/checkout",
                commit=IMPOSTOR,
                status="unknown-commit",
                checked_branches="main",
            )
        )
        session.commit()
    engine.dispose()


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    github = FakeGitHub().start()
    github.set_tag("actions/setup-go", "v5.1.0", SETUP_GO_V510, annotated=True)
    github.set_tag("docker/login-action", "v3.3.0", LOGIN_V330)
    github.set_tag("docker/build-push-action", "v6.9.0", BUILD_PUSH_V690_REAL)
    for repo, commit in (
        ("actions/setup-go", SETUP_GO_V510),
        ("docker/login-action", LOGIN_V330),
        ("docker/build-push-action", BUILD_PUSH_V690_REAL),
    ):
        github.add_commit(repo, commit)
    # BUILD_PUSH_V690 (what security.yml pins) is no commit of docker/build-push-action
    yield github
    github.stop()


@pytest.fixture
def make_rig(tmp_path: Path, fake_github: FakeGitHub) -> Callable[..., ScanRig]:
    def make(*, token: bool = True) -> ScanRig:
        home = tmp_path / f"rig-{token}"
        home.mkdir()
        token_line = ""
        if token:
            (home / "github-token").write_text("ghp_test\n")
            token_line = 'token_file = "github-token"'
        path = home / "config.toml"
        path.write_text(
            INVENTORY.format(
                db=home / "toolgate.db", api_url=fake_github.url, token_line=token_line
            )
        )
        config = load_config(path)
        _seed(config)
        return ScanRig(config, fake_github, tmp_path)

    return make


@pytest.fixture
def rig(make_rig: Callable[..., ScanRig]) -> ScanRig:
    return make_rig()
