"""The `toolgate` executable: `check` straight to its light runner-side module, the rest to Typer.

A runner calls `toolgate check` before every tool fetch, so that path must not pay for loading
the command line's other commands or Typer itself (see README "Performance").
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    """Run the `toolgate` command line on `sys.argv`."""
    if sys.argv[1:2] == ["check"]:
        from verifier.runner_check import main as check

        sys.exit(check(sys.argv[2:]))
    from verifier.cli import main as cli

    try:
        cli()
    finally:
        # The process ends here: spare it the final collection of every object its command
        # loaded (about 0.3 s after a scan or the demo; reference counting still frees them).
        gc.freeze()
