"""`toolgate doctor`: check the installation (configuration, store, upstreams, relays, clock)."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from verifier.cli.app import ExitCode, app, console
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption
from verifier.doctor import Status, diagnose

_MARKS = {Status.OK: "[green]✓[/]", Status.FAIL: "[bold red]✗[/]", Status.SKIP: "[dim]\u2013[/]"}


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command()
def doctor(
    config_path: ConfigOption = DEFAULT_CONFIG,
    output: Annotated[
        Format, typer.Option("--format", help="table (for people) or json (for scripts).")
    ] = Format.TABLE,
) -> None:
    """Check that this installation can do its job, and say what to fix.

    Checks the configuration, the state directory, the store and its schema revision, the secret
    files, the GitHub token and rate limit, the clock against GitHub's, the SMTP relay (connect,
    TLS, AUTH; nothing is sent), each webhook (a signed ping event, never an alert) and the
    Sigstore trust root. Run it as the service user, with the service's environment
    (README: Install and operations). Exit 1 if any check fails (✗), else 0 (a dash: skipped).
    """
    checks = diagnose(config_path)
    if output is Format.JSON:
        print(json.dumps({"checks": [asdict(check) for check in checks]}, indent=2))
    else:
        table = Table(show_header=True, header_style="bold")
        for column in ("", "check", "found", "what to do"):
            table.add_column(column)
        for check in checks:
            table.add_row(_MARKS[check.status], check.name, check.detail, check.advice)
        console.print(table)
    if any(check.status is Status.FAIL for check in checks):
        raise typer.Exit(int(ExitCode.DENIED))
