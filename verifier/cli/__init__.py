"""The `toolgate` command line: thin wiring of the library to Typer; the work lives elsewhere."""

from __future__ import annotations

from typing import Annotated

import typer

from verifier import __version__
from verifier.cli import (
    advisories_cmd,
    alerts_cmd,
    audit_cmd,
    check,
    demo_cmd,
    doctor_cmd,
    exposure_cmd,
    inventory_cmd,
    report_cmd,
    scan_cmd,
    serve,
    sync_cmd,
    tokens_cmd,
    verify_cmd,
)
from verifier.cli.app import app

__all__ = [
    "advisories_cmd",
    "alerts_cmd",
    "app",
    "audit_cmd",
    "check",
    "demo_cmd",
    "doctor_cmd",
    "exposure_cmd",
    "inventory_cmd",
    "main",
    "report_cmd",
    "scan_cmd",
    "serve",
    "sync_cmd",
    "tokens_cmd",
    "verify_cmd",
]


def _version(value: bool) -> None:
    if value:
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
