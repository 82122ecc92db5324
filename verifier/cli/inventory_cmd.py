"""`toolgate tools`, `approve`, `block`, `revoke`, `overrides`: the inventory and manual facts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from verifier.cli.app import ExitCode, app, console, fail
from verifier.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    JsonOption,
    actor,
    duration_option,
    load,
    open_store,
    store_snapshot,
)
from verifier.errors import NotFoundError
from verifier.inventory import add_override, list_overrides, revoke_override, sync_tools
from verifier.inventory_view import tool_view
from verifier.storable import MAX_ID

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")

Reason = Annotated[str, typer.Option("--reason", help="Why; shown in every decision it affects.")]


def _sha256(value: str | None) -> str | None:
    if value is not None and not _HEX64.match(value):
        raise fail(f'--sha256 "{value[:80]}" is not 64 hexadecimal characters')
    return value


@app.command()
def tools(config_path: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """List the inventory: each tool, its approved versions and each known version's status."""
    config = load(config_path)
    engine = open_store(config)
    sync_tools(engine, config)
    snapshot = store_snapshot(engine, config)
    rows = [tool_view(snapshot, name, detail=True) for name in sorted(snapshot.tools)]
    if as_json:
        print(json.dumps({"tools": rows, "policy_revision": snapshot.revision}, indent=2))
        return
    table = Table(title=f"Inventory ({len(rows)} tools, revision {snapshot.revision})")
    for column in ("tool", "mode", "approved", "newest allowed", "versions", "blocks"):
        table.add_column(column)
    colours = {"allow": "green", "warn": "yellow", "deny": "red"}
    for row in rows:
        lines = [
            f"[{colours[v['decision']]}]{v['version']} {v['decision']}[/] "
            + " ".join(dict.fromkeys(reason["code"] for reason in v["reasons"]))
            for v in row["versions"]
        ]
        table.add_row(
            row["name"],
            row["mode"],
            ", ".join(row["approved"]) or "any verified",
            row["newest_allowed"] or "-",
            "\n".join(lines) or "[dim]none seen yet[/]",
            str(row["active_blocks"] or ""),
        )
    console.print(table)


@app.command()
def approve(
    tool: Annotated[str, typer.Argument(help="Tool name.")],
    version: Annotated[str, typer.Argument(help="Version to approve.")],
    sha256: Annotated[str, typer.Option(help="The SHA-256 you verified (required).")],
    reason: Reason,
    expires: Annotated[str | None, typer.Option(help='Lapse after a duration, e.g. "30d".')] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Approve TOOL VERSION with a digest you verified (overrides cooldown and approved set)."""
    _apply("approve", tool, version, _sha256(sha256), None, reason, expires, config_path)


@app.command()
def block(
    tool: Annotated[str, typer.Argument(help="Tool name.")],
    version: Annotated[
        str | None, typer.Argument(help="Version; omit to block every version.")
    ] = None,
    sha256: Annotated[
        str | None, typer.Option(help="Block these bytes under any version name.")
    ] = None,
    commit: Annotated[
        str | None, typer.Option(help="Block this commit (40 hex) under any version name.")
    ] = None,
    reason: Reason = "",
    expires: Annotated[str | None, typer.Option(help='Lapse after a duration, e.g. "7d".')] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Block TOOL, TOOL VERSION, or a digest / commit under whatever version it travels."""
    if sha256 and commit:
        raise fail("give --sha256 or --commit, not both")
    if commit is not None and not _HEX40.match(commit):
        raise fail(f'--commit "{commit[:80]}" is not a full 40-character commit SHA')
    _apply("block", tool, version, _sha256(sha256), commit, reason, expires, config_path)


def _apply(
    kind: Literal["approve", "block"],
    tool: str,
    version: str | None,
    sha256: str | None,
    commit: str | None,
    reason: str,
    expires: str | None,
    config_path: Path,
) -> None:
    if not reason.strip():
        raise fail("--reason is required: say why, it is shown in every decision it affects")
    config = load(config_path)
    engine = open_store(config)
    sync_tools(engine, config)
    try:
        override_id = add_override(
            engine,
            kind=kind,
            tool=tool,
            actor=actor(),
            reason=reason,
            version=version,
            sha256=sha256,
            commit=commit,
            expires_in=duration_option(expires, "--expires"),
        )
    except (NotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    console.print(f"{kind} #{override_id} recorded; running daemons apply it within a second")


@app.command()
def revoke(
    override_id: Annotated[
        int, typer.Argument(help="Override id (see `toolgate overrides`).", min=1, max=MAX_ID)
    ],
    reason: Reason = "",
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Withdraw an approval or block before it expires."""
    if not reason.strip():
        raise fail("--reason is required")
    engine = open_store(load(config_path))
    try:
        revoke_override(engine, override_id, actor(), reason)
    except NotFoundError as exc:
        raise fail(str(exc), ExitCode.DENIED) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    console.print(f"override #{override_id} revoked")


@app.command()
def overrides(
    config_path: ConfigOption = DEFAULT_CONFIG,
    include_inactive: Annotated[
        bool, typer.Option("--all", help="Include expired and revoked ones.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List approvals and blocks."""
    rows = list_overrides(open_store(load(config_path)), include_inactive)
    if as_json:
        print(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return
    now = datetime.now(UTC)
    table = Table(title="Overrides")
    for column in (
        "id",
        "kind",
        "tool",
        "version",
        "sha256/commit",
        "by",
        "reason",
        "expires",
        "state",
    ):
        table.add_column(column)
    for row in rows:
        state = (
            "revoked"
            if row.revoked_at
            else ("expired" if row.expires_at and row.expires_at <= now else "active")
        )
        table.add_row(
            str(row.id),
            row.kind,
            row.tool,
            row.version or "*",
            (row.sha256 or row.commit or "")[:16],
            row.actor,
            row.reason,
            row.expires_at.isoformat(timespec="minutes") if row.expires_at else "-",
            state,
        )
    console.print(table)
