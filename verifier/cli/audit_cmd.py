"""`toolgate audit`: who was told what, and what enforcing would have broken."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer
from rich.table import Table

from verifier.audit import query_audit, record_json
from verifier.cli.app import app, console
from verifier.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    duration_option,
    load,
    open_store,
)
from verifier.storable import MAX_LIMIT


@app.command()
def audit(
    tool: Annotated[str | None, typer.Option(help="Only this tool.")] = None,
    version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    since: Annotated[str | None, typer.Option(help='Only the last duration, e.g. "24h".')] = None,
    would_deny: Annotated[
        bool, typer.Option("--would-deny", help="Only answers that enforce mode would have denied.")
    ] = False,
    limit: Annotated[
        int, typer.Option(help="At most this many records.", min=1, max=MAX_LIMIT)
    ] = 200,
    config_path: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Query the decision audit trail, newest first."""
    window = duration_option(since, "--since")
    since_at = datetime.now(UTC) - window if window else None
    rows = query_audit(
        open_store(load(config_path)),
        tool=tool,
        version=version,
        since=since_at,
        would_deny=would_deny,
        limit=limit,
    )
    if as_json:
        print(json.dumps([record_json(row) for row in rows], indent=2))
        return
    table = Table(title=f"Decisions ({len(rows)})")
    for column in ("time", "token", "runner", "tool", "version", "decision", "reasons"):
        table.add_column(column)
    for row in rows:
        codes = " ".join(reason["code"] for reason in orjson.loads(row.reasons_json))
        decision = "would-deny" if row.would_deny and row.decision == "warn" else row.decision
        table.add_row(
            f"{row.at:%Y-%m-%d %H:%M:%S}",
            row.token_name,
            row.runner or "",
            row.tool,
            row.version,
            decision,
            codes,
        )
    console.print(table)
