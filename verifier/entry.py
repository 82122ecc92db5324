"""The `toolgate` executable: `check` straight to its light runner-side module, the rest to Typer.

A runner calls `toolgate check` before every tool fetch, so that path must not pay for loading
the command line's other commands or Typer itself (see README "Performance").
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run the `toolgate` command line on `sys.argv`."""
    if sys.argv[1:2] == ["check"]:
        from verifier.runner_check import main as check

        sys.exit(check(sys.argv[2:]))
    from verifier.cli import main as cli

    cli()
