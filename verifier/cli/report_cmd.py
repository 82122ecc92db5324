"""`toolgate report`: the inventory, verification evidence, advisories, exposure or audit trail
as JSON, CSV, Markdown, HTML or CycloneDX; or the weekly report mailed now."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from verifier.cli.app import ExitCode, app, console, err_console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption, load, open_store
from verifier.config import Config
from verifier.reports import FORMATS, KINDS, ReportError, render


@app.command()
def report(
    kind: Annotated[str, typer.Argument(help=f"What to report: {', '.join(KINDS)}.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"Output format: {', '.join(FORMATS)}.")
    ] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
    send_weekly: Annotated[
        bool,
        typer.Option(
            "--send-weekly",
            help="Mail this week's inventory report now to the \\[reports] recipients who have "
            "not had it (as the daemon does at `\\[reports] weekly`); KIND must be inventory.",
        ),
    ] = False,
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Write the KIND report as --format to stdout or -o FILE.

    The same store at the same moment gives the same bytes, so reports diff cleanly.
    """
    if kind not in KINDS:
        raise fail(f'unknown report kind "{kind}": choose one of {", ".join(KINDS)}')
    if fmt not in FORMATS:
        raise fail(f'unknown format "{fmt}": choose one of {", ".join(FORMATS)}')
    config = load(config_path)
    engine = open_store(config)
    now = datetime.now(UTC)
    if send_weekly:
        _send_weekly(kind, config, engine, now)
        return
    try:
        with err_console.status(f"collecting the {kind} report…"):
            body = render(kind, fmt, engine, config, now)
    except (ReportError, SQLAlchemyError) as exc:
        raise fail(str(exc).splitlines()[0]) from None
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(body)
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    err_console.print(
        f"{kind} report ({fmt}, {len(body):,} bytes) written to {escape(str(output))}",
        highlight=False,
    )


def _send_weekly(kind: str, config: Config, engine: Engine, now: datetime) -> None:
    from verifier.reports.schedule import send_weekly_report  # mail: only for --send-weekly

    if kind != "inventory":
        raise fail("--send-weekly sends the inventory report: use `toolgate report inventory`")
    if config.reports.schedule is None:
        raise fail('[reports] weekly is not set (e.g. weekly = "mon 07:00")')
    try:
        outcome = send_weekly_report(engine, config, now)
    except SQLAlchemyError as exc:
        raise fail(str(exc).splitlines()[0]) from None
    if outcome.sent:
        console.print(f"{outcome.week}: sent to {', '.join(outcome.sent)}", highlight=False)
    if outcome.unsent:
        raise fail(
            f"{outcome.week}: not sent to {', '.join(outcome.unsent)}: {outcome.error}",
            ExitCode.DENIED,
        )
    if not outcome.sent:
        console.print(
            "nothing to send: not due yet this week, or every recipient had it", highlight=False
        )
