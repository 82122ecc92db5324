"""The `toolgate` command line: thin wiring of the library to Typer; the work lives elsewhere.

Each command's module is imported only when that command runs (see `verifier.cli.lazy`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from verifier.cli.app import app

__all__ = ["app", "main"]


def _version(value: bool) -> None:
    if value:
        from verifier import __version__

        print(f"toolgate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Supply-chain verification daemon: decides whether a CI runner may fetch a tool build.

    Exit codes: 0 allow / ok, 1 deny / problem found, 2 usage or runtime error.
    """


def main() -> None:
    app()
