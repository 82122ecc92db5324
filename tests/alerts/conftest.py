"""Real receivers on loopback for alert tests: an SMTP server (STARTTLS or implicit TLS, AUTH)
with a certificate made here, and a webhook receiver that records and can fail on demand."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import free_port
from verifier.alerts.sender import AlertSender
from verifier.config import Config
from verifier.inventory import sync_tools
from verifier.store.models import DecisionLogRow

SMTP_USER = "toolgate"
SMTP_PASSWORD = "smtp-pass-3f9a1c77e2"
WEBHOOK_SECRET = "whsec-8b1d2e4f6a0c9e7d"
RECIPIENT = "secops@example.org"


@dataclass
class Tls:
    ca_file: Path
    context: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A CA and a server certificate for 127.0.0.1, made for this test run."""
    directory = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "toolgate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return Tls(ca_file, context)


@dataclass
class Received:
    envelope_to: list[str]
    message: EmailMessage


@dataclass
class MailHandler:
    """Collects what the server accepted; `fail_next` answers 451 to that many DATA commands."""

    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    drop_next: int = 0  # close the connection instead of answering that many DATA commands
    on_message: Callable[[], None] | None = None
    hold_first: float = 0.0  # seconds to sit on the first message before answering 250
    delay: float = 0.0  # seconds to take over every message

    async def handle_DATA(self, server: Any, _session: Any, envelope: Envelope) -> str:
        if self.drop_next:
            self.drop_next -= 1
            server.transport.close()
            return "421 closing"
        if self.fail_next:
            self.fail_next -= 1
            return "451 4.3.0 try again later"
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        self.received.append(Received(list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        if self.on_message:
            self.on_message()
        if self.hold_first and len(self.received) == 1:
            await asyncio.sleep(self.hold_first)
        await asyncio.sleep(self.delay)
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [r.message["Message-ID"] for r in self.received]


def _authenticate(_server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any) -> Any:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok)


class MailServer:
    """An aiosmtpd server on 127.0.0.1 that requires STARTTLS (or speaks TLS at once) and AUTH."""

    def __init__(self, tls: Tls, *, implicit: bool = False, port: int | None = None) -> None:
        self.handler = MailHandler()
        self.port = port or free_port()
        self.implicit = implicit
        self._ca_file = str(tls.ca_file)
        options: dict[str, Any] = {
            "authenticator": _authenticate,
            # aiosmtpd only knows TLS it negotiated itself (STARTTLS); implicit TLS is TLS too.
            "auth_require_tls": not implicit,
            "auth_required": True,
        }
        if implicit:
            options["ssl_context"] = tls.context
        else:
            options["tls_context"] = tls.context
            options["require_starttls"] = True
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **options
        )

    def start(self) -> MailServer:
        if self.implicit:
            # aiosmtpd probes its TLS server with the server's own context; probe as a client.
            self.controller._trigger_server = self._probe_tls  # type: ignore[method-assign]
        self.controller.start()
        return self

    def _probe_tls(self) -> None:
        context = ssl.create_default_context(cafile=self._ca_file)
        with (
            socket.create_connection(("127.0.0.1", self.port), 2) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as wrapped,
        ):
            wrapped.recv(1024)

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@pytest.fixture
def mail_server(tls: Tls) -> Iterator[Callable[..., MailServer]]:
    servers: list[MailServer] = []

    def start(**options: Any) -> MailServer:
        server = MailServer(tls, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 recording POSTs; `statuses` are answered first, then 200."""

    def __init__(self) -> None:
        self.requests: list[Hook] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status < 300:
                    receiver.requests.append(Hook(dict(self.headers.items()), body))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/toolgate"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def alerts_toml(
    tmp_path: Path,
    tls: Tls,
    smtp_port: int,
    *,
    webhook_url: str | None = None,
    tls_mode: str = "starttls",
    route: str = "",
    settings: str = "",
    max_attempts: int = 3,
) -> str:
    """`[alerts]` configuration for the loopback receivers, with secrets in files."""
    (tmp_path / "smtp-password").write_text(SMTP_PASSWORD + "\n")
    (tmp_path / "webhook-secret").write_text(WEBHOOK_SECRET + "\n")
    text = f"""
[alerts]
poll_interval = "1s"
retry_base = "1s"
retry_max = "4s"
max_attempts = {max_attempts}
{settings}

[alerts.smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "{tls_mode}"
username = "{SMTP_USER}"
password_file = "smtp-password"
from = "toolgate <toolgate@example.org>"
ca_file = "{tls.ca_file}"
timeout = "20s"

[[alerts.route]]
to = ["{RECIPIENT}"]
tools = ["*"]
min_severity = "low"
{route}
"""
    if webhook_url:
        text += f"""
[[alerts.webhook]]
name = "chatops"
url = "{webhook_url}"
secret_file = "webhook-secret"
min_severity = "high"
"""
    return text


def add_fetches(
    engine: Engine,
    tool: str,
    version: str,
    runners: list[tuple[str, str, str]],
    *,
    decision: str = "allow",
    at: dt.datetime | None = None,
) -> None:
    """Audit records as the API writes them: (token, runner, job) fetched `tool version`."""
    moment = at or dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with Session(engine) as session:
        for offset, (token, runner, job) in enumerate(runners):
            session.add(
                DecisionLogRow(
                    at=moment + dt.timedelta(minutes=offset),
                    token_name=token,
                    runner=runner,
                    job=job,
                    tool=tool,
                    version=version,
                    decision=decision,
                    reasons_json="[]",
                    revision=1,
                )
            )
        session.commit()


@pytest.fixture
def alerts_config(
    write_config: Callable[..., Config], tmp_path: Path, tls: Tls, store_url: str
) -> Callable[..., Config]:
    """A configuration on the test store whose alerts go to the given loopback receivers."""

    def make(smtp_port: int, **options: Any) -> Config:
        mode = options.pop("mode", "enforce")
        return write_config(
            store_url, mode=mode, extra=alerts_toml(tmp_path, tls, smtp_port, **options)
        )

    return make


@pytest.fixture
def setup(engine: Engine, alerts_config, mail_server, webhook: WebhookReceiver):
    """A started mail server, a configuration alerting it and the webhook, a synced store."""

    def make(**options: object) -> tuple[Config, MailServer, AlertSender]:
        server = mail_server(implicit=options.pop("implicit", False))
        tls_mode = "implicit" if server.implicit else "starttls"
        options.setdefault("webhook_url", webhook.url)
        config = alerts_config(server.port, tls_mode=tls_mode, **options)
        sync_tools(engine, config)
        return config, server, AlertSender(config, engine)

    return make
