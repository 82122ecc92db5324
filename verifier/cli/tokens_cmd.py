"""`toolgate token create|list|revoke`: API tokens, stored hashed."""

from __future__ import annotations

import json
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
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Create a token and print it once: store it in the runner's secret store."""
    engine = open_store(load(config_path))
    try:
        token = create_token(engine, name, set(scope), actor())
    except ValueError as exc:
        raise fail(str(exc)) from None
    err_console.print(
        f"token {name!r} created with scopes {', '.join(sorted(scope))}; it is shown only now:"
    )
    print(token)


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
