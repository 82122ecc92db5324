"""Lazy subcommand registration: a command's module is imported only when that command runs.

Each command module registers itself on the shared Typer `app` when imported. Importing them all
costs seconds (the advisory index, FastAPI, SQLAlchemy, sigstore), so `toolgate check` and
`toolgate --help` import none but the one they need. The root help lists every command from
`COMMANDS` without importing it; a test keeps that table equal to what the modules register.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer.main
from typer import Context
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # Typer's vendored Click, for annotations only
    from typer._click import Command, HelpFormatter


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a top-level command lives and the one-line help the root `--help` shows for it."""

    module: str
    summary: str


def _in(module: str, **summaries: str) -> dict[str, LazyCommand]:
    return {
        name.replace("_", "-"): LazyCommand(f"verifier.cli.{module}", text)
        for name, text in summaries.items()
    }


# In the order the root help lists them (Typer lists commands first, then groups).
COMMANDS: dict[str, LazyCommand] = {
    **_in("audit_cmd", audit="Query the decision audit trail, newest first."),
    **_in(
        "check",
        check="Ask toolgate whether TOOL VERSION may be fetched. Exit 0 allow/warn, 1 deny, 2 "
        "error.",
    ),
    **_in(
        "demo_cmd",
        demo="Replay the March 2026 Trivy compromise offline, against a real toolgate daemon.",
    ),
    **_in("doctor_cmd", doctor="Check that this installation can do its job, and say what to fix."),
    **_in(
        "exposure_cmd",
        exposure="Who fetched TOOL VERSION, which build each got, and what to do.",
    ),
    **_in(
        "inventory_cmd",
        tools="List the inventory: each tool, its approved versions and each known version's "
        "status.",
        approve="Approve TOOL VERSION with a digest you verified (overrides cooldown and approved "
        "set).",
        block="Block TOOL, TOOL VERSION, or a digest / commit under whatever version it travels.",
        revoke="Withdraw an approval or block before it expires.",
        overrides="List approvals and blocks.",
    ),
    **_in("report_cmd", report="Write the KIND report as --format to stdout or -o FILE."),
    **_in(
        "scan_cmd",
        scan="Scan GitHub workflows, composite actions and GitLab CI for every tool they fetch.",
    ),
    **_in(
        "serve",
        serve="Run the daemon: migrate the store, sync the inventory, serve the decision API.",
    ),
    **_in(
        "sync_cmd",
        sync="Poll upstream releases now, verify what is new and record it (as the daemon does).",
        accept_evidence="Accept a release's changed evidence (e.g. a new signing workflow) as the "
        "tool's new\nbaseline. Accepted once, for this release: later releases are compared "
        "with it.",
    ),
    **_in(
        "verify_cmd",
        verify="Verify a local artifact's Sigstore bundle (and checksum) against a signer "
        "identity.",
        explain="BUNDLE: print the signing certificate's claims in the terms the config uses "
        "(does not\nverify). TOOL VERSION: why the release is answered as it is: its evidence, "
        "the baseline it\nwas compared with and which release each part came from, and the "
        "decision now.",
    ),
    **_in(
        "advisories_cmd",
        advisories="Import, sync, match and waive advisories (OSV, GitHub, RSS/Atom, KEV).",
    ),
    **_in("alerts_cmd", alerts="Alert deliveries: list, re-send, test."),
    **_in("serve", db="Manage the store's schema."),
    **_in("tokens_cmd", token="Create, list and revoke API tokens."),
}


class _Summary(TyperCommand):
    """Stands in for a command not imported yet, in the root help's listing only."""


class LazyGroup(TyperGroup):
    """The root group: knows every command by name, imports its module on first use."""

    _summaries: ClassVar[dict[str, _Summary]] = {
        name: _Summary(name=name, short_help=entry.summary) for name, entry in COMMANDS.items()
    }

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        loaded = self.commands
        self.commands = {name: loaded.get(name) or self._summaries[name] for name in COMMANDS}
        self.commands.update(loaded)
        self._listing = False

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if self._listing:
            return self._summaries.get(cmd_name)
        command = self.commands.get(cmd_name)
        if isinstance(command, _Summary):
            command = self._load(cmd_name)
        return command

    def _load(self, name: str) -> Command | None:
        collecting = gc.isenabled()
        gc.disable()  # a command's imports allocate ~10^6 objects, few in a cycle: 10 % of the time
        try:
            importlib.import_module(COMMANDS[name].module)
        finally:
            if collecting:
                gc.enable()
        from verifier.cli.app import app  # the module registered its commands on it

        for loaded_name, command in typer.main.get_group(app).commands.items():
            if not isinstance(command, _Summary):
                self.commands[loaded_name] = command
        command = self.commands[name]
        return None if isinstance(command, _Summary) else command

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Click's plain layout: Typer's rich one imports Markdown and tracebacks, 60 ms."""
        with self._listing_summaries():
            super(TyperGroup, self).format_help(ctx, formatter)

    @contextmanager
    def _listing_summaries(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False
