"""Alert drain benchmark: N queued alerts delivered to a local aiosmtpd, none lost or duplicated.

Times, in the same run and against the same loopback SMTP server:

- baseline: plain ``smtplib`` sending N copies of a rendered alert mail over one connection;
- drain: N incidents recorded (each writes its alert in its own transaction's outbox), then
  ``AlertSender.run_once`` routes, claims with leases, re-checks each alert's claim against the
  current decision, renders (Jinja2, text + HTML), sends and marks each delivery sent.

Checks every Message-ID arrived exactly once and no delivery is left pending. Exits 1 otherwise.
Usage: .venv/bin/python bench/alerts_drain.py [--alerts N] [--store URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import smtplib
import socket
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlmodel import Session

from verifier.alerts.claims import check_claim
from verifier.alerts.message import AlertView, build_email
from verifier.alerts.outbox import list_deliveries
from verifier.alerts.sender import AlertSender
from verifier.config import load_config
from verifier.incidents import IncidentKind, Severity, record_incident
from verifier.inventory import sync_tools
from verifier.snapshot import build_snapshot
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.store.models import AlertRow

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


class Recording:
    """Appends each accepted message's Message-ID to a file (the server runs in its own process,
    so its parsing does not compete with the sender for the GIL)."""

    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 (lives as long as the server)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        for line in (envelope.original_content or b"").split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.out.write(line.split(b":", 1)[1].strip().decode() + "\n")
                break
        return "250 OK"


def serve(port: int, path: str, stop: Any) -> None:
    controller = Controller(Recording(path), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


def received(path: Path) -> Counter[str]:
    return Counter(path.read_text().split())


def baseline(port: int, count: int, sample: bytes) -> float:
    """Plain smtplib over one connection, sending alert-sized mails (same bytes, new ids)."""
    head, _, rest = sample.partition(b"Message-ID: ")
    rest = rest.partition(b"\r\n")[2]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for index in range(count):
            message = head + b"Message-ID: <baseline-%d@example.org>\r\n" % index + rest
            client.sendmail("toolgate@example.org", ["secops@example.org"], message)
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


def sample_mail(engine: Any, config: Any) -> bytes:
    """A real alert mail as the sender renders it, for the baseline to send."""
    with Session(engine) as session:
        alert = session.scalars(select(AlertRow).limit(1)).one()
    view = AlertView.of(alert, check_claim(build_snapshot(engine, config), alert))
    return build_email(
        [view],
        key=alert.dedupe_key,
        sender="toolgate@example.org",
        recipient="b@x.org",
        now=datetime.now(UTC),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        ids_file = Path(tmp) / "received"
        ids_file.touch()
        stop = multiprocessing.Event()
        server = multiprocessing.Process(target=serve, args=(port, str(ids_file), stop))
        server.start()
        time.sleep(1)
        try:
            url = args.store or f"sqlite:///{Path(tmp) / 'toolgate.db'}"
            (Path(tmp) / "config.toml").write_text(CONFIG.format(url=url, port=port))
            config = load_config(Path(tmp) / "config.toml")
            engine = create_store_engine(config.store_url)
            upgrade(engine)
            sync_tools(engine, config)
            queued = queue_incidents(engine, args.alerts)
            base = baseline(port, args.alerts, sample_mail(engine, config))
            time.sleep(1)
            ids_file.write_text("")
            sender = AlertSender(config, engine)
            started = time.perf_counter()
            while sender.run_once():
                pass
            drained = time.perf_counter() - started
            pending = [d for d, _ in list_deliveries(engine, limit=10**9) if d.status != "sent"]
            time.sleep(1)
            ids = received(ids_file)
        finally:
            stop.set()
            server.join(10)
    duplicates = sum(n - 1 for n in ids.values() if n > 1)
    print(f"store: {url.split(':')[0]}, alerts: {args.alerts}")
    print(f"queue (record_incident + outbox row): {queued:.2f}s, {args.alerts / queued:,.0f}/s")
    print(f"baseline smtplib, same-size mails:    {base:.2f}s, {args.alerts / base:,.0f} msg/s")
    print(
        f"drain (route, lease, render, send, mark): {drained:.2f}s, "
        f"{args.alerts / drained:,.0f} msg/s ({drained / base:.1f}x baseline)"
    )
    print(f"received: {len(ids)} distinct, duplicates: {duplicates}, not sent: {len(pending)}")
    ok = len(ids) == args.alerts and duplicates == 0 and not pending
    print("OK: none lost, none duplicated" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
