"""Alert drain benchmark: N queued alerts delivered to a local aiosmtpd, none lost or duplicated.

Times, in the same run and against the same loopback SMTP server:

- baseline: plain ``smtplib`` sending N prepared messages over one connection (no store);
- drain: N incidents recorded (each writes its alert in its own transaction's outbox), then
  ``AlertSender.run_once`` routes, claims with leases, renders (Jinja2, text + HTML), sends and
  marks each delivery sent.

Checks every Message-ID arrived exactly once and no delivery is left pending. Exits 1 otherwise.
Usage: .venv/bin/python bench/alerts_drain.py [--alerts N] [--store URL]
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import sys
import tempfile
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlmodel import Session

from verifier.alerts.outbox import list_deliveries
from verifier.alerts.sender import AlertSender
from verifier.config import load_config
from verifier.incidents import IncidentKind, Severity, record_incident
from verifier.inventory import sync_tools
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade

CONFIG = """\
state_dir = "state"

[store]
url = "{url}"

[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"

[alerts]
lease = "10m"

[alerts.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "toolgate <toolgate@example.org>"

[[alerts.route]]
to = ["secops@example.org"]
"""


class Counting:
    """Counts Message-IDs as the server accepts them."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        for line in (envelope.original_content or b"").split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.ids[line.split(b":", 1)[1].strip().decode()] += 1
                break
        return "250 OK"


def baseline(port: int, count: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for index in range(count):
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = "b", "a@example.org", "b@x.org"
            message["Message-ID"] = f"<baseline-{index}@example.org>"
            message.set_content("baseline")
            client.send_message(message)
    return time.perf_counter() - started


def queue_incidents(engine: Any, count: int) -> float:
    started = time.perf_counter()
    with Session(engine) as session:
        for index in range(count):
            record_incident(
                session,
                kind=IncidentKind.VERIFICATION_FAILED,
                tool="trivy",
                version=f"0.{index // 1000}.{index % 1000}",
                severity=Severity.CRITICAL,
                summary="signature from unexpected commit",
                detail={"commit": f"{index:040x}"},
                dedupe_key=f"bench:{index}",
            )
            if index % 500 == 499:
                session.commit()
        session.commit()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    handler = Counting()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.store or f"sqlite:///{Path(tmp) / 'toolgate.db'}"
            (Path(tmp) / "config.toml").write_text(CONFIG.format(url=url, port=port))
            config = load_config(Path(tmp) / "config.toml")
            engine = create_store_engine(config.store_url)
            upgrade(engine)
            sync_tools(engine, config)
            base = baseline(port, args.alerts)
            handler.ids.clear()
            queued = queue_incidents(engine, args.alerts)
            sender = AlertSender(config, engine)
            started = time.perf_counter()
            while sender.run_once():
                pass
            drained = time.perf_counter() - started
            pending = [d for d, _ in list_deliveries(engine, limit=10**9) if d.status != "sent"]
    finally:
        controller.stop()
    duplicates = sum(n - 1 for n in handler.ids.values() if n > 1)
    print(f"store: {url.split(':')[0]}, alerts: {args.alerts}")
    print(f"queue (record_incident + outbox row): {queued:.2f}s, {args.alerts / queued:,.0f}/s")
    print(f"baseline smtplib, one connection:      {base:.2f}s, {args.alerts / base:,.0f} msg/s")
    print(
        f"drain (route, lease, render, send, mark): {drained:.2f}s, "
        f"{args.alerts / drained:,.0f} msg/s ({drained / base:.1f}x baseline)"
    )
    print(
        f"received: {len(handler.ids)} distinct, duplicates: {duplicates}, not sent: {len(pending)}"
    )
    ok = len(handler.ids) == args.alerts and duplicates == 0 and not pending
    print("OK: none lost, none duplicated" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
