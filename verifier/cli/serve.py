"""`toolgate serve` and `toolgate db`: run the daemon, manage the store's schema."""

from __future__ import annotations

import logging
import signal
import sys
from typing import Annotated

import typer
import uvicorn

from verifier.api.app import create_app
from verifier.cli.app import app, console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption, load, open_store
from verifier.service import Service
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
    """Run the daemon: migrate the store, sync the inventory, serve the decision API."""
    config = load(config_path)
    if listen:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise fail(f'--listen "{listen}" is not HOST:PORT')
        config = config.model_copy(
            update={"server": config.server.model_copy(update={"listen": listen})}
        )
    engine = open_store(config)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    console.print(
        f"toolgate serving {len(config.tools)} tools on http://{config.server.listen} "
        f"(store {engine.url.render_as_string(hide_password=True)})",
        highlight=False,
    )
    # uvicorn drains in-flight requests on SIGTERM (the lifespan then flushes the audit buffer) and
    # re-raises the signal afterwards; this handler turns that into exit status 0, a clean stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # The audit writer thread takes the GIL in short bursts; a 0.5 ms switch interval (default
    # 5 ms) bounds how long answers on the event loop wait behind it.
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        create_app(Service(config, engine)),
        host=config.server.host,
        port=config.server.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


@db_app.command("upgrade")
def db_upgrade(config_path: ConfigOption = DEFAULT_CONFIG) -> None:
    """Apply the store's migrations (serve does this on start too)."""
    engine = open_store(load(config_path))
    console.print(f"store at revision {current_revision(engine)} (head {head_revision()})")
