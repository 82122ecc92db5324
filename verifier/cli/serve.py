"""`toolgate serve` and `toolgate db`: run the daemon, manage the store's schema."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from verifier.cli.app import app, console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption, load, open_store
from verifier.daemon import Daemon, with_listen
from verifier.logs import configure_logging
from verifier.notify import Notifier
from verifier.store.backup import backup_sqlite
from verifier.store.engine import create_store_engine
from verifier.store.migrate import current_revision, downgrade, head_revision, previous_revision

db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def serve(
    config_path: ConfigOption = DEFAULT_CONFIG,
    listen: Annotated[
        str | None, typer.Option(help="HOST:PORT to listen on (overrides \\[server] listen).")
    ] = None,
) -> None:
    """Run the daemon: migrate the store, sync the inventory, serve the decision API.

    Under systemd (Type=notify) it reports READY/STATUS/WATCHDOG/STOPPING. SIGHUP re-reads the
    configuration (an invalid one is logged and ignored); SIGTERM drains requests, flushes the
    audit trail and exits 0. Logs are JSON lines on stderr (\\[server] log_format).
    """
    if listen:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise fail(f'--listen "{listen}" is not HOST:PORT')
    config = with_listen(load(config_path), listen)
    configure_logging(config.server.log_format, config.server.log_level)
    notifier = Notifier()
    notifier.status("migrating the store")
    engine = open_store(config)
    # The audit writer thread takes the GIL in short bursts; a 0.5 ms switch interval (default
    # 5 ms) bounds how long answers on the event loop wait behind it.
    sys.setswitchinterval(0.0005)
    Daemon(config_path, config, engine, listen=listen, notifier=notifier).run()


@db_app.command("upgrade")
def db_upgrade(config_path: ConfigOption = DEFAULT_CONFIG) -> None:
    """Apply the store's migrations (serve does this on start too)."""
    engine = open_store(load(config_path))
    console.print(f"store at revision {current_revision(engine)} (head {head_revision()})")


@db_app.command("downgrade")
def db_downgrade(
    config_path: ConfigOption = DEFAULT_CONFIG,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Undo the newest migration (one step), to go back to the previous toolgate release.

    Stop toolgate first (serve migrates up again on start), back the store up, downgrade, then
    install the previous release. What that migration added is dropped, with its data.
    """
    engine = create_store_engine(load(config_path).store_url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        raise fail(f"cannot open the store: {str(exc).splitlines()[0]}") from None
    if current is None:
        raise fail("the store has no schema: nothing to downgrade")
    target = previous_revision(current)
    if not yes:
        if not sys.stdin.isatty():
            raise fail("pass --yes to downgrade without a prompt")
        typer.confirm(f"downgrade the store from {current} to {target or 'empty'}?", abort=True)
    try:
        now = downgrade(engine)
    except SQLAlchemyError as exc:
        raise fail(f"downgrade failed: {str(exc).splitlines()[0]}") from None
    console.print(f"store downgraded from {current} to {now or 'empty'} (head {head_revision()})")


@db_app.command("backup")
def db_backup(
    destination: Annotated[Path, typer.Argument(help="The backup file to create (not replaced).")],
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Copy the SQLite store while toolgate runs (SQLite's online backup API: a consistent
    snapshot even during writes). For PostgreSQL use pg_dump (README: Install and operations)."""
    url = make_url(load(config_path).store_url)
    if url.get_backend_name() != "sqlite":
        raise fail(f"the store is {url.get_backend_name()}: back it up with pg_dump -Fc")
    try:
        size = backup_sqlite(Path(url.database or ""), destination)
    except (OSError, sqlite3.Error) as exc:
        raise fail(f"backup to {destination} failed: {exc}") from None
    console.print(f"backed up {url.database} to {destination} ({size} bytes)")
