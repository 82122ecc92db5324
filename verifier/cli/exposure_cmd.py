"""`toolgate exposure`: the runners that were allowed to fetch a build that is now denied."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from verifier.cli.app import ExitCode, app, console
from verifier.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    load,
    open_store,
    store_snapshot,
)
from verifier.exposure import exposure_report


@app.command()
def exposure(
    tool: Annotated[str, typer.Argument(help="The tool, as runners name it.")],
    version: Annotated[str, typer.Argument(help="The version (0.69.4 and v0.69.4 are one).")],
    sha256: Annotated[
        str | None, typer.Option(help="Also count fetches of these bytes under any version.")
    ] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Who fetched TOOL VERSION, which build each got, and what to do.

    A runner that named the sha256 toolgate verified, still allowed now, fetched the genuine
    build: it needs no credential rotation. Exit 1 if it is now denied and a runner fetched a
    build that was not positively verified (no sha256 named, or one now denied)."""
    config = load(config_path)
    engine = open_store(config)
    snapshot = store_snapshot(engine, config)
    with Session(engine) as session:
        report = exposure_report(session, snapshot, tool, version, sha256)
    exposed = bool(report["at_risk_count"]) and report["decision"] == "deny"
    if as_json:
        print(json.dumps(report, indent=2))
        raise typer.Exit(int(ExitCode.DENIED if exposed else ExitCode.OK))
    table = Table(
        title=f"{tool} {version} is now answered {report['decision']}: "
        f"{report['runner_count']} runners fetched it, {report['at_risk_count']} a build not "
        "positively verified"
    )
    for column in ("token", "runner", "job", "first fetch (UTC)", "last fetch (UTC)", "fetches"):
        table.add_column(column)
    for runner in report["runners"]:
        table.add_row(
            runner["token_name"],
            runner["runner"] or "",
            runner["job"] or "",
            runner["first_fetch"][:19].replace("T", " "),
            runner["last_fetch"][:19].replace("T", " "),
            f"{runner['fetches']} {_build(runner)}",
        )
    console.print(table)
    for number, step in enumerate(report["advice"], 1):
        console.print(f"{number}. {step}", highlight=False)
    raise typer.Exit(int(ExitCode.DENIED if exposed else ExitCode.OK))


def _build(runner: dict[str, object]) -> str:
    """`genuine` (named the verified sha256), `denied sha` or `no sha256` (which bytes unknown)."""
    if runner["genuine"]:
        return "genuine"
    return "denied sha" if runner["sha256"] else "no sha256"
