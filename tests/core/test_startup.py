"""Start-up: what a cold `toolgate` process imports (counted, never timed), and the lazy command
table the root help is printed from."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

import verifier.cli
from tests.conftest import LiveServer
from verifier.cli import app
from verifier.cli.lazy import COMMANDS

# Modules `toolgate check` may load beyond what a bare httpx request loads (today 6: argparse,
# rich markup and four of ours). Raise it only for a reason a runner would accept on every job.
CHECK_EXTRA_MODULE_BUDGET = 10
# Never on the runner's path: the CLI framework, the daemon's stacks, the advisory index.
HEAVY = (
    "typer",
    "pydantic",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "psycopg",
    "sigstore",
    "cryptography",
    "advisories",
    "yaml",
    "jinja2",
)

_RUN_ENTRY = """\
import json, sys
sys.argv = ["toolgate", *sys.argv[1:]]
from verifier.entry import main
try:
    main()
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
_BARE_REQUEST = """\
import json, sys, httpx
httpx.get(sys.argv[1] + "/v1/decision", params={"tool": "trivy", "version": "9.9"},
          headers={"Authorization": "Bearer " + sys.argv[2]}, timeout=10)
print(json.dumps({"code": 0, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _cold(script: str, *args: str) -> tuple[int, set[str], str, str]:
    """Run `script` in a fresh interpreter: its exit code, loaded modules, stdout, stderr."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )
    *printed, report = done.stderr.rstrip("\n").split("\n")
    result = json.loads(report)
    return result["code"], set(result["modules"]), done.stdout, "\n".join(printed)


def _roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_check_cold_import_graph_stays_within_budget(live_server, tmp_path: Path):
    server: LiveServer = live_server()
    token = server.token("runner")
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    code, modules, stdout, stderr = _cold(
        _RUN_ENTRY, "check", "trivy", "9.9", "--server", server.url, "--token-file", str(token_file)
    )
    assert (code, stdout) == (1, "")
    assert "deny trivy 9.9:" in stderr and "unknown-version" in stderr
    assert not _roots(modules) & set(HEAVY), sorted(_roots(modules) & set(HEAVY))
    assert not {name for name in modules if name.startswith("verifier.cli")}
    _, baseline, _, _ = _cold(_BARE_REQUEST, server.url, token)
    extra = sorted(modules - baseline)
    assert len(extra) <= CHECK_EXTRA_MODULE_BUDGET, f"{len(extra)} modules beyond httpx: {extra}"


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_import_no_command(args: list[str]):
    code, modules, stdout, _ = _cold(_RUN_ENTRY, *args)
    assert code == 0
    loaded = {name for name in modules if name.startswith("verifier.cli.")}
    assert loaded <= {"verifier.cli.app", "verifier.cli.lazy"}, sorted(loaded)
    assert not _roots(modules) & (set(HEAVY) - {"typer"}), sorted(_roots(modules) & set(HEAVY))
    if args == ["--help"]:
        for name in COMMANDS:
            assert f"\n  {name} " in stdout, f"{name} missing from the root help"


def test_command_table_matches_what_the_modules_register():
    """Every module of the command-line package is imported, so a command added anywhere in it
    without its line in `COMMANDS` (which the root help and the lazy loading read) fails here."""
    for module in pkgutil.iter_modules(verifier.cli.__path__, "verifier.cli."):
        importlib.import_module(module.name)
    registered = typer.main.get_group(app).commands
    unlisted, gone = set(registered) - set(COMMANDS), set(COMMANDS) - set(registered)
    assert not unlisted and not gone, f"add to COMMANDS: {unlisted}; remove: {gone}"
    modules = _registering_modules()
    for name, entry in COMMANDS.items():
        assert modules[name] == entry.module, name
        summary = inspect.cleandoc(registered[name].help or "").split("\n\n")[0]
        assert entry.summary == summary, f"{name}: COMMANDS says {entry.summary!r}"


def _registering_modules() -> dict[str, str]:
    """Each top-level command's name and the module that registered it on `app`."""
    modules = {
        info.name or info.callback.__name__.lower().replace("_", "-"): info.callback.__module__
        for info in app.registered_commands
    }
    for group in app.registered_groups:
        modules[group.name] = group.typer_instance.registered_commands[0].callback.__module__
    return modules
