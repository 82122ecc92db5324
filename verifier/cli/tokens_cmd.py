"""`toolgate token create|list|revoke`: API tokens, stored hashed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from verifier.cli.app import ExitCode, app, console, err_console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption, JsonOption, actor, load, open_store
from verifier.errors import NotFoundError
from verifier.tokens import Scope, create_token, list_tokens, revoke_token

token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="A name for the holder, e.g. runner-eu-1.")],
    scope: Annotated[
        list[Scope],
        typer.Option(help="check (decisions), read (inventory, audit), admin. Repeatable."),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the token to this new file, readable by its owner only (0600), "
            "instead of printing it.",
        ),
    ] = None,
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Create a token and print it once (or write it to --output): store it in the runner's
    secret store."""
    engine = open_store(load(config_path))
    descriptor = _private_file(output) if output is not None else None
    try:
        token = create_token(engine, name, set(scope), actor())
    except ValueError as exc:
        if descriptor is not None and output is not None:
            os.close(descriptor)
            output.unlink()
        raise fail(str(exc)) from None
    scopes = ", ".join(sorted(scope))
    if descriptor is not None:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(token + "\n")
        err_console.print(
            f"token {name!r} created with scopes {scopes}; written to {output} (mode 0600)",
            markup=False,
        )
        return
    err_console.print(f"token {name!r} created with scopes {scopes}; it is shown only now:")
    print(token)


def _private_file(path: Path) -> int:
    """A new file only its owner can read, opened for writing; exit 2 if it cannot be made."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise fail(f"{path} exists: give a new file for the token") from None
    except OSError as exc:
        raise fail(f"cannot create {path}: {exc.strerror}") from None


@token_app.command("list")
def list_(config_path: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """List tokens (names, scopes, state; never the tokens)."""
    rows = list_tokens(open_store(load(config_path)))
    if as_json:
        print(
            json.dumps([r.model_dump(mode="json", exclude={"token_hash"}) for r in rows], indent=2)
        )
        return
    table = Table(title="API tokens")
    for column in ("name", "scopes", "created", "by", "state"):
        table.add_column(column)
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        table.add_row(
            row.name, row.scopes, f"{row.created_at:%Y-%m-%d %H:%M}", row.created_by, state
        )
    console.print(table)


@token_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="Token name.")],
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Revoke a token; running daemons stop accepting it within a second."""
    try:
        revoke_token(open_store(load(config_path)), name, actor())
    except NotFoundError as exc:
        raise fail(str(exc), ExitCode.DENIED) from None
    console.print(f"token {name!r} revoked")
