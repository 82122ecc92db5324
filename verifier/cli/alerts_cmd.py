"""`toolgate alerts list|resend|test`: the outbox, re-sending, and a test through every channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from verifier.alerts.outbox import list_deliveries, resend
from verifier.alerts.probe import send_test_messages
from verifier.cli.app import ExitCode, app, console, fail
from verifier.cli.common import DEFAULT_CONFIG, ConfigOption, JsonOption, actor, load, open_store
from verifier.errors import NotFoundError

alerts_app = typer.Typer(help="Alert deliveries: list, re-send, test.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("list")
def list_alerts(
    status: Annotated[
        str | None,
        typer.Option(
            help="Only deliveries in this state: pending, sent, dropped (their claim no longer "
            "held when due) or dead."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many deliveries.")] = 200,
    config_path: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Alert deliveries, newest first; exit 1 if any shown is dead."""
    if status not in (None, "pending", "sent", "dropped", "dead"):
        raise fail(f'--status "{status}": use pending, sent, dropped or dead')
    rows = list_deliveries(open_store(load(config_path)), status=status, limit=limit)
    if as_json:
        records = [
            {
                **delivery.model_dump(mode="json", exclude={"lease_owner", "lease_until"}),
                "tool": alert.tool,
                "version": alert.version,
                "severity": alert.severity,
                "summary": alert.summary,
            }
            for delivery, alert in rows
        ]
        print(json.dumps(records, indent=2))
    else:
        table = Table(title=f"Alert deliveries ({len(rows)})")
        for column in ("id", "created", "status", "tries", "to", "alert", "last error"):
            table.add_column(column)
        for delivery, alert in rows:
            table.add_row(
                str(delivery.id),
                f"{delivery.created_at:%Y-%m-%d %H:%M:%S}",
                delivery.status,
                str(delivery.attempts),
                f"{delivery.channel} {delivery.target}",
                f"{delivery.action.upper()} {alert.tool} {alert.version or ''} ({alert.severity})",
                (delivery.last_error or "")[:80],
            )
        console.print(table)
    if any(delivery.status == "dead" for delivery, _ in rows):
        raise typer.Exit(int(ExitCode.DENIED))


@alerts_app.command("resend")
def resend_alert(
    delivery_id: Annotated[
        int, typer.Argument(help="The delivery id (see `toolgate alerts list`).")
    ],
    config_path: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Queue a delivery again (a dead one, or one lost downstream) under the same Message-ID."""
    try:
        row = resend(open_store(load(config_path)), delivery_id, actor(), datetime.now(UTC))
    except NotFoundError as exc:
        raise fail(str(exc), ExitCode.DENIED) from None
    console.print(f"delivery #{row.id} to {row.channel} {row.target} queued again", highlight=False)


@alerts_app.command("test")
def test_alerts(config_path: ConfigOption = DEFAULT_CONFIG) -> None:
    """Send a test message through every configured channel; exit 1 if any fails."""
    config = load(config_path)
    results = send_test_messages(config)
    if not results:
        raise fail(
            "no alert channel is configured ([alerts.smtp] with [[alerts.route]], or "
            "[[alerts.webhook]])"
        )
    for result in results:
        mark = "[green]ok[/]" if result.error is None else f"[red]failed:[/] {result.error}"
        console.print(f"{result.channel} {result.target}: {mark}", highlight=False)
    if any(result.error for result in results):
        raise typer.Exit(int(ExitCode.DENIED))
