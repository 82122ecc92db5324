"""The Typer application object and the conventions every command shares."""

from __future__ import annotations

from typing import Any

import typer

from verifier.cli.lazy import LazyGroup
from verifier.terminal import ExitCode, consoles, print_error

__all__ = ["ExitCode", "app", "fail"]  # and `console`, `err_console` (module __getattr__)

app = typer.Typer(
    name="toolgate",
    cls=LazyGroup,
    help="Supply-chain verification daemon: decides whether a CI runner may fetch a tool build.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def __getattr__(name: str) -> Any:
    """`console` (stdout) and `err_console` (stderr), made on first use (not for `--help`)."""
    if name == "console":
        return consoles()[0]
    if name == "err_console":
        return consoles()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> typer.Exit:
    """Print an error on stderr and return the Exit to raise."""
    print_error(message)
    return typer.Exit(int(code))
