"""The Typer application object and the conventions every command shares."""

from __future__ import annotations

from enum import IntEnum

import typer
from rich.console import Console
from rich.markup import escape


class ExitCode(IntEnum):
    """Exit codes scripts can rely on."""

    OK = 0  # allow, verified, nothing found
    DENIED = 1  # deny, not verified, problem found
    ERROR = 2  # usage, configuration or runtime error: treat as "do not fetch"


app = typer.Typer(
    name="toolgate",
    help="Supply-chain verification daemon: decides whether a CI runner may fetch a tool build.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> typer.Exit:
    """Print an error on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(int(code))
