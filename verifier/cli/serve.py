"""`toolgate serve` and `toolgate db`: run the daemon, manage the store's schema."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from verifier.cli.app import app, console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption, load, open_store
from verifier.daemon import Daemon, with_listen
from verifier.logs import configure_logging
from verifier.notify import Notifier
from verifier.store.migrate import current_revision, head_revision

db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def serve(
    config_path: ConfigOption = DEFAULT_CONFIG,
    listen: Annotated[
        str | None, typer.Option(help="HOST:PORT to listen on (overrides [server] listen).")
    ] = None,
) -> None:
    """Run the daemon: migrate the store, sync the inventory, serve the decision API.

    Under systemd (Type=notify) it reports READY/STATUS/WATCHDOG/STOPPING. SIGHUP re-reads the
    configuration (an invalid one is logged and ignored); SIGTERM drains requests, flushes the
    audit trail and exits 0. Logs are JSON lines on stderr ([server] log_format).
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
