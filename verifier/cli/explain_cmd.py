"""`toolgate explain TOOL VERSION`: a release's evidence, the baseline it was compared with and
where each part of it came from, and the decision now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from verifier.cli.app import ExitCode, console, fail
from verifier.cli.common import load, open_store, store_snapshot
from verifier.errors import NotFoundError
from verifier.release_explain import explain_release


def explain_release_command(tool: str, version: str, config_path: Path, as_json: bool) -> None:
    """Print the explanation; exit 2 if the release is unknown, 1 if it is denied now."""
    config = load(config_path)
    engine = open_store(config)
    snapshot = store_snapshot(engine, config)
    try:
        found = explain_release(engine, snapshot, tool, version)
    except NotFoundError as exc:
        raise fail(str(exc)) from exc
    code = ExitCode.DENIED if found["decision"] == "deny" else ExitCode.OK
    if as_json:
        print(json.dumps(found, indent=2))
        raise typer.Exit(int(code))
    console.print(
        f"{escape(tool)} {escape(found['version'])}: {found['status']}, answered "
        f"{found['decision']} now; {escape(found['comparison'])}",
        highlight=False,
    )
    for reason in found["reasons"]:
        line = f"  {reason['code']}: expected {reason.get('expected')}, found {reason.get('found')}"
        console.print(escape(line), highlight=False)
    compared = found["compared_with"] or found["baseline_now"]
    table = Table(title="evidence: this release against the baseline")
    for column in ("part", "this release", "baseline", "baseline part from"):
        table.add_column(column)
    mine = found["evidence"] or {}
    for part in (compared or {}).get("parts", []):
        name = part["name"]
        table.add_row(name, _cell(mine.get(name)), _cell(part["value"]), part["from"])
    console.print(table)
    if found["baseline_now"] is not None:
        now = found["baseline_now"]
        line = f"baseline now: as of {now['version']}, by {now['accepted_by']}: {now['reason']}"
        console.print(escape(line), highlight=False)
    for asset, att in sorted(found["attestations"].items()):
        console.print(
            escape(
                f"attestation of {asset}: {att.get('predicate_type')}, signed by "
                f"{att.get('signer')}, source commit {att.get('source_commit')}, "
                f"Rekor entry {att.get('rekor_log_index')}"
            ),
            highlight=False,
        )
    raise typer.Exit(int(code))


def _cell(value: Any) -> str:
    return escape("—" if value is None else str(value))
