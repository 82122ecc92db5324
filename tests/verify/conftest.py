"""Shared helpers for the verify tests: fixture paths and a CLI runner."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import verifier.cli.verify_cmd  # noqa: F401  (registers the commands on the shared app)
from tests.conftest import FIXTURES
from verifier.cli.app import app
from verifier.demo.authority import SigningAuthority

SIGSTORE = FIXTURES / "sigstore"
CHECKSUMS = FIXTURES / "github" / "checksums"


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    @property
    def error(self) -> str:
        """stderr with Rich's line wrapping undone."""
        return " ".join(self.stderr.split())


@pytest.fixture
def toolgate() -> Any:
    """Run `toolgate ARGS...` in process and return exit code and output."""
    runner = CliRunner()

    def run(*args: str | Path) -> CliResult:
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture(scope="session")
def authority() -> SigningAuthority:
    """A fresh test Sigstore (Fulcio, CT log, Rekor) for the whole session."""
    return SigningAuthority()


@pytest.fixture(scope="session")
def authority_root(authority: SigningAuthority, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The authority's trusted_root.json on disk."""
    return authority.write_trusted_root(tmp_path_factory.mktemp("ca") / "trusted_root.json")
