"""Options and helpers shared by commands: configuration, store, the acting user."""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from verifier.cli.app import fail
from verifier.config import Config, load_config
from verifier.durations import parse_duration
from verifier.errors import ConfigError
from verifier.store.engine import create_store_engine

if TYPE_CHECKING:
    from verifier.snapshot import Snapshot

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar="TOOLGATE_CONFIG",
        help="Configuration file (TOML).",
        show_default=True,
    ),
]
DEFAULT_CONFIG = Path("config.toml")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def load(config_path: Path) -> Config:
    """The validated configuration, or exit 2 naming file, line and key."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def open_store(config: Config) -> Engine:
    """An engine on the configured store, migrated to the current schema (exit 2 if unreachable)."""
    from verifier.store.migrate import upgrade  # alembic: only for commands that open the store

    engine = create_store_engine(config.store_url)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        raise fail(f"cannot open the store {engine.url!r}: {str(exc).splitlines()[0]}") from None
    return engine


def store_snapshot(engine: Engine, config: Config) -> Snapshot:
    """The policy snapshot of the store as it is now, advisories weighed in (as the daemon
    answers), for commands that show or judge decisions."""
    from verifier.advisory_feeds import load_weigher  # heavy: only commands that decide
    from verifier.snapshot import build_snapshot

    return build_snapshot(engine, config, load_weigher(engine, config))


def duration_option(value: str | None, option: str) -> timedelta | None:
    """A duration given on the command line (`--expires 7d`), or exit 2 naming the option."""
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise fail(f"{option}: {exc}") from None


def actor() -> str:
    """Who is acting, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
