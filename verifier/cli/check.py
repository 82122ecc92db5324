"""`toolgate check` on the Typer application: hands its arguments to `verifier.runner_check`.

The `toolgate` entry point runs `verifier.runner_check` directly (without Typer); this
registration serves the in-process application (`verifier.cli.app`, e.g. under a test runner).
"""

from __future__ import annotations

import typer

from verifier import runner_check
from verifier.cli.app import app

_RAW_ARGUMENTS = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command(context_settings=_RAW_ARGUMENTS, add_help_option=False, help=runner_check.SUMMARY)
def check(ctx: typer.Context) -> None:
    raise typer.Exit(runner_check.main(ctx.args))
