"""A mail sink on 127.0.0.1 (aiosmtpd): accepts every message, keeps it, and writes it to a
directory as an `.eml` file, so the demo can show and keep the alerts toolgate sent."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from verifier.demo.loopback import free_port


@dataclass(frozen=True)
class Mail:
    """One message the sink accepted."""

    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return " ".join(str(self.message["Subject"]).split())

    def text(self) -> str:
        """The plain-text body."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""  # type: ignore[union-attr]


class Mailbox:
    """Start with `start()`; toolgate's `[alerts.smtp]` points at `port` with `tls = "none"`.

    `check`, when set, is called with each message as it arrives, before it is acknowledged
    (see `verifier.demo.claims`)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.check: Callable[[Mail], None] | None = None
        self.port = free_port()
        self._mail: list[Mail] = []
        self._arrived = threading.Condition()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)

    def start(self) -> Mailbox:
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        recipients = tuple(str(r) for r in envelope.rcpt_tos)
        if self.check is not None:
            self.check(Mail(recipients, message))  # type: ignore[arg-type]
        with self._arrived:
            if self.directory is not None:
                slug = re.sub(r"[^A-Za-z0-9.]+", "-", str(message["Subject"]))[:80].strip("-")
                (self.directory / f"{len(self._mail) + 1:03d}-{slug}.eml").write_bytes(raw)
            self._mail.append(Mail(recipients, message))  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 OK"

    @property
    def mail(self) -> list[Mail]:
        with self._arrived:
            return list(self._mail)

    def wait_for(self, *needles: str, timeout: float = 20.0, start: int = 0) -> list[Mail]:
        """Wait until, for each needle, a message from index `start` on has it in its subject;
        returns the messages from `start` on (whether or not all needles were found)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                subjects = [m.subject for m in self._mail[start:]]
                if all(any(n in s for s in subjects) for n in needles):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            return list(self._mail[start:])
