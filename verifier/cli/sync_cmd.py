"""`toolgate sync` and `toolgate accept-evidence`: run the release watcher now; accept a
legitimate change of a tool's release evidence."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from verifier.cli.app import ExitCode, app, console, err_console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption, JsonOption, actor, load, open_store
from verifier.errors import ConfigError, NotFoundError
from verifier.inventory import sync_tools
from verifier.watcher import ToolReport, Watcher, accept_evidence


@app.command()
def sync(
    tool: Annotated[
        list[str] | None,
        typer.Option("--tool", metavar="NAME", help="Only this tool (repeatable)."),
    ] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Poll upstream releases now, verify what is new and record it (as the daemon does).

    Exit 0 when nothing needs attention, 1 when a release was rejected, an incident opened
    or an upstream failed, 2 on usage or configuration errors.
    """
    config = load(config_path)
    engine = open_store(config)
    sync_tools(engine, config)
    try:
        watcher = Watcher(config, engine)
        tools = watcher.tools(tool)
    except (ConfigError, NotFoundError) as exc:
        raise fail(str(exc)) from None
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=as_json,
        ) as progress:
            task = progress.add_task("polling", total=len(tools))
            reports = watcher.poll(tools, on_done=lambda _: progress.advance(task))
    finally:
        watcher.close()
    reports.sort(key=lambda report: report.tool)
    if as_json:
        print(json.dumps({"tools": [asdict(report) for report in reports]}, indent=2))
    else:
        _print(reports)
    raise typer.Exit(int(ExitCode.DENIED if any(r.problem for r in reports) else ExitCode.OK))


def _print(reports: list[ToolReport]) -> None:
    table = Table(title=f"Release watch ({len(reports)} tools)")
    for column in ("tool", "new", "verified", "rejected", "incidents", "upstream"):
        table.add_column(column, overflow="fold")
    for r in reports:
        if r.error:
            upstream = f"[red]{r.error}[/]"
        elif r.elsewhere:
            upstream = "polled by another replica"
        else:
            upstream = "unchanged" if r.unchanged else "changed"
        table.add_row(
            r.tool,
            " ".join(r.new),
            f"[green]{' '.join(r.verified)}[/]",
            f"[red]{' '.join(r.rejected)}[/]",
            f"[red]{', '.join(r.incidents)}[/]",
            upstream,
        )
    console.print(table)


@app.command("accept-evidence")
def accept_evidence_cmd(
    tool: Annotated[str, typer.Argument(help="Tool name.")],
    version: Annotated[str, typer.Argument(help="The release held with evidence-changed.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the new evidence is legitimate.")],
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Accept a release's changed evidence (e.g. a new signing workflow) as the tool's new
    baseline. Accepted once, for this release: later releases are compared with it."""
    config = load(config_path)
    engine = open_store(config)
    try:
        status = accept_evidence(engine, tool, version, actor(), reason)
    except (NotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(f"{tool} {version}: evidence accepted; the release is now {status}")
