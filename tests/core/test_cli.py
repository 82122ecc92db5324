"""The command line: exit codes, messages, and `toolgate check` against a live server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import LiveServer, free_port
from tests.core.test_api import wait_for
from verifier import __version__
from verifier.cli import app
from verifier.tokens import Scope

GOOD = "a" * 64


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def server(live_server) -> LiveServer:
    return live_server()


def invoke(runner: CliRunner, server: LiveServer, *args: str):
    return runner.invoke(app, [*args, "--config", str(server.config.source_path)])


def token_file(tmp_path: Path, token: str) -> Path:
    path = tmp_path / "token"
    path.write_text(token + "\n")
    return path


def test_version_and_help(runner: CliRunner):
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"toolgate {__version__}"
    help_text = runner.invoke(app, ["--help"]).stdout
    for command in ("serve", "check", "tools", "approve", "block", "token", "audit", "db"):
        assert command in help_text


def test_invalid_config_exits_2_naming_line_and_key(runner: CliRunner, tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\nunknown = "allow"\n')
    result = runner.invoke(app, ["tools", "--config", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: policy.unknown" in result.stderr


def test_token_lifecycle(runner: CliRunner, server: LiveServer):
    created = invoke(runner, server, "token", "create", "--name", "runner-eu-1", "--scope", "check")
    assert created.exit_code == 0
    token = created.stdout.strip()
    assert token.startswith("tg_") and "shown only now" in created.stderr
    listed = invoke(runner, server, "token", "list", "--json")
    assert [t["name"] for t in json.loads(listed.stdout)] == ["runner-eu-1"]
    assert token not in listed.stdout
    assert invoke(runner, server, "token", "revoke", "runner-eu-1").exit_code == 0
    assert invoke(runner, server, "token", "revoke", "runner-eu-1").exit_code == 1
    bad_scope = invoke(runner, server, "token", "create", "--name", "x", "--scope", "root")
    assert bad_scope.exit_code == 2


def test_approve_block_and_tools(runner: CliRunner, server: LiveServer):
    approved = invoke(
        runner, server, "approve", "trivy", "0.69.3", "--sha256", GOOD, "--reason", "checked"
    )
    assert approved.exit_code == 0, approved.stderr
    tools = json.loads(invoke(runner, server, "tools", "--json").stdout)
    trivy = next(t for t in tools["tools"] if t["name"] == "trivy")
    (version,) = trivy["versions"]
    assert (version["version"], version["decision"]) == ("0.69.3", "allow")
    assert [reason["code"] for reason in version["reasons"]] == ["override"]
    assert trivy["newest_allowed"] == "0.69.3"
    blocked = invoke(
        runner,
        server,
        "block",
        "trivy",
        "--sha256",
        GOOD,
        "--reason",
        "poisoned",
        "--expires",
        "7d",
    )
    assert blocked.exit_code == 0
    tools = json.loads(invoke(runner, server, "tools", "--json").stdout)
    trivy = next(t for t in tools["tools"] if t["name"] == "trivy")
    assert trivy["versions"][0]["decision"] == "deny" and trivy["newest_allowed"] is None
    overrides = json.loads(invoke(runner, server, "overrides", "--json").stdout)
    assert [(o["kind"], o["reason"]) for o in overrides] == [
        ("block", "poisoned"),
        ("approve", "checked"),
    ]
    assert "Inventory" in invoke(runner, server, "tools").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve", "trivy", "1.0", "--sha256", "zz", "--reason", "x"], "not 64 hexadecimal"),
        (["approve", "trivy", "1.0", "--sha256", GOOD, "--reason", " "], "--reason is required"),
        (["block", "trivy", "--commit", "abc", "--reason", "x"], "full 40-character"),
        (["block", "trivy", "--reason", "x", "--expires", "soon"], "--expires"),
        (["block", "nope", "--reason", "x"], "not in the inventory"),
    ],
)
def test_bad_override_arguments_exit_2(
    runner: CliRunner, server: LiveServer, args: list[str], message: str
):
    result = invoke(runner, server, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_check_exit_codes(
    runner: CliRunner, server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    invoke(runner, server, "approve", "trivy", "0.69.3", "--sha256", GOOD, "--reason", "checked")
    server.service.refresh()
    monkeypatch.setenv("TOOLGATE_URL", server.url)
    monkeypatch.setenv("TOOLGATE_TOKEN_FILE", str(token_file(tmp_path, server.token("runner"))))
    allow = runner.invoke(app, ["check", "trivy", "0.69.3", "--sha256", GOOD, "--runner", "gh-1"])
    assert (allow.exit_code, allow.stdout.strip()) == (0, "allow trivy 0.69.3")
    deny = runner.invoke(app, ["check", "trivy", "0.69.4"])
    assert deny.exit_code == 1
    assert "unknown-version" in deny.stderr and "newest allowed version: 0.69.3" in deny.stderr
    warn = runner.invoke(app, ["check", "cosign", "2.4.1"])  # cosign is in warn mode
    assert warn.exit_code == 0 and "warn" in warn.stderr
    as_json = runner.invoke(app, ["check", "trivy", "0.69.3", "--json"])
    assert json.loads(as_json.stdout)["decision"] == "allow"


def test_check_sends_a_non_ascii_runner_id_as_utf8(
    runner: CliRunner, server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TOOLGATE_URL", server.url)
    monkeypatch.setenv("TOOLGATE_TOKEN_FILE", str(token_file(tmp_path, server.token("runner"))))
    result = runner.invoke(app, ["check", "trivy", "0.69.4", "--runner", "läufer-7"])
    assert result.exit_code == 1 and "unknown-version" in result.stderr, result.stderr
    server.service.refresh()
    with server.client(server.token("auditor", Scope.READ)) as client:
        wait_for(lambda: client.get("/v1/audit").json()["records"])
        assert client.get("/v1/audit").json()["records"][0]["runner"] == "läufer-7"


def test_a_token_file_that_is_not_a_token_exits_2(runner: CliRunner, tmp_path: Path):
    for content in (b"\xff\xfe binary", "tg_ü".encode()):
        path = tmp_path / "token"
        path.write_bytes(content)
        result = runner.invoke(app, ["check", "trivy", "1", "--token-file", str(path)])
        assert result.exit_code == 2 and "token file" in result.stderr, result.stderr


def test_check_errors_exit_2(runner: CliRunner, server: LiveServer, tmp_path: Path):
    bad_token = token_file(tmp_path, "tg_wrong")
    result = runner.invoke(
        app, ["check", "trivy", "1", "--server", server.url, "--token-file", str(bad_token)]
    )
    assert result.exit_code == 2 and "401" in result.stderr
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(
        app, ["check", "trivy", "1", "--server", nowhere, "--token-file", str(bad_token)]
    )
    assert result.exit_code == 2 and "do not fetch" in result.stderr
    result = runner.invoke(app, ["check", "trivy", "1", "--token-file", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "cannot read token file" in result.stderr
    invalid = token_file(tmp_path, server.token("runner"))
    result = runner.invoke(
        app, ["check", "trivy", "1 0", "--server", server.url, "--token-file", str(invalid)]
    )
    assert result.exit_code == 2 and "422" in result.stderr


def test_audit_shows_would_deny(runner: CliRunner, server: LiveServer, tmp_path: Path):
    tokens = token_file(tmp_path, server.token("runner"))
    runner.invoke(
        app, ["check", "cosign", "9.9", "--server", server.url, "--token-file", str(tokens)]
    )
    runner.invoke(
        app, ["check", "trivy", "9.9", "--server", server.url, "--token-file", str(tokens)]
    )
    asyncio.run(server.service.audit.flush())
    would = json.loads(invoke(runner, server, "audit", "--would-deny", "--json").stdout)
    assert [(r["tool"], r["decision"]) for r in would] == [("cosign", "warn")]
    everything = json.loads(invoke(runner, server, "audit", "--since", "1h", "--json").stdout)
    assert {r["tool"] for r in everything} == {"cosign", "trivy"}
    assert invoke(runner, server, "audit", "--since", "yesterday").exit_code == 2
