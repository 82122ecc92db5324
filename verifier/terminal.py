"""What every command prints through: exit codes scripts rely on, the consoles, error lines.

Light on purpose (no Typer): `toolgate check` uses it on every runner job. The consoles are made
on first use, so a command that prints nothing through them never imports rich.
"""

from __future__ import annotations

from enum import IntEnum
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


class ExitCode(IntEnum):
    """Exit codes scripts can rely on."""

    OK = 0  # allow, verified, nothing found
    DENIED = 1  # deny, not verified, problem found
    ERROR = 2  # usage, configuration or runtime error: treat as "do not fetch"


@cache
def consoles() -> tuple[Console, Console]:
    """The stdout console and the stderr one (soft-wrapped: error lines are never cut)."""
    from rich.console import Console

    return Console(), Console(stderr=True, soft_wrap=True)


def print_error(message: str) -> None:
    """`error: MESSAGE` on stderr, MESSAGE printed as it is (brackets are not markup)."""
    from rich.markup import escape

    consoles()[1].print(f"[bold red]error:[/] {escape(message)}", highlight=False)
