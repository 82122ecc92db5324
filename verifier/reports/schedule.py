"""The weekly inventory report, mailed through the alert relay once per week and recipient.

Each (ISO week, recipient) is a lease in the store (`verifier.leases`): whichever replica claims
it first sends, and marks it done; a restart or a second replica sharing the store finds it done
and sends nothing. A failed send gives the lease back, so the next check (every minute) retries.
Delivery is at least once: a crash between the relay's answer and marking it done sends that
recipient the report again, under the same Message-ID.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr

from sqlalchemy import Engine

from advisories.gcpause import paused_gc
from verifier.alerts.errors import DeliveryError
from verifier.alerts.message import message_id
from verifier.alerts.smtp import open_relay
from verifier.config import Config, bare_address
from verifier.leases import claim_due, finish, new_holder, release
from verifier.reports.formats import FORMATS
from verifier.reports.kinds import build_report

log = logging.getLogger(__name__)

CHECK_SECONDS = 60
LEASE = timedelta(minutes=10)  # well above the SMTP timeout: one send per claim
_KEEP = timedelta(days=8)  # a week's lease is never due again within its week
_SMTP_LINES = compat32.clone(linesep="\r\n")


@dataclass(frozen=True, slots=True)
class WeeklySend:
    """What one check did: the week due (if any), who got the report now, who did not, why."""

    week: str | None
    sent: tuple[str, ...] = ()
    unsent: tuple[str, ...] = ()
    error: str | None = None


def recipients(config: Config) -> list[str]:
    """`[reports] to`, else every `[[alerts.route]]` recipient (each once)."""
    if config.reports.to:
        return list(config.reports.to)
    seen: dict[str, str] = {}
    for route in config.alerts.routes:
        for address in route.to:
            seen.setdefault(bare_address(address).lower(), address)
    return list(seen.values())


def due_week(config: Config, now: datetime) -> str | None:
    """The ISO week (`2026-W48`) whose report is due at `now`: from the scheduled moment of
    `now`'s week to the end of that week. None when not scheduled or not yet due."""
    schedule = config.reports.schedule
    if schedule is None:
        return None
    weekday, hour, minute = schedule
    moment = now.astimezone(UTC)
    monday = (moment - timedelta(days=moment.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    if moment < monday + timedelta(days=weekday, hours=hour, minutes=minute):
        return None
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def build_message(
    config: Config, body_formats: list[bytes], *, week: str, recipient: str, now: datetime
) -> bytes:
    """The mail of one week's report for one recipient: Markdown text (and HTML when chosen)."""
    smtp = config.alerts.smtp
    assert smtp is not None
    key = f"report-inventory-{week}"
    message = MIMEMultipart("alternative")
    message["Subject"] = Header(f"toolgate weekly inventory report {week}", "utf-8")
    message["From"] = formataddr(parseaddr(smtp.sender), charset="utf-8")
    message["To"] = formataddr(parseaddr(recipient), charset="utf-8")
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id(key, smtp.sender)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Toolgate-Report"] = key
    for body, subtype in zip(body_formats, ("plain", "html"), strict=False):
        message.attach(MIMEText(body.decode("utf-8"), subtype, "utf-8"))
    return message.as_bytes(policy=_SMTP_LINES)


def send_weekly_report(
    engine: Engine, config: Config, now: datetime, holder: str | None = None
) -> WeeklySend:
    """Send the week's inventory report to every recipient who has not had it yet. Does nothing
    before the scheduled moment or when `[reports] weekly` is unset."""
    week = due_week(config, now)
    smtp = config.alerts.smtp
    if week is None or smtp is None:
        return WeeklySend(week)
    holder = holder or new_holder()
    claimed = [
        (name, recipient)
        for recipient in recipients(config)
        if claim_due(
            engine,
            name := f"report:inventory:{week}:{bare_address(recipient).lower()}",
            holder,
            _KEEP,
            LEASE,
            now,
        )
    ]
    if not claimed:
        return WeeklySend(week)
    sent: list[str] = []
    error = None
    try:
        with paused_gc():
            report = build_report("inventory", engine, config, now)
            bodies = [FORMATS["md"].render(report)]
            if config.reports.format == "html":
                bodies.append(FORMATS["html"].render(report))
        with open_relay(smtp, config) as relay:
            for name, recipient in claimed:
                message = build_message(config, bodies, week=week, recipient=recipient, now=now)
                relay.send(message, recipient)
                finish(engine, name, holder, now)
                sent.append(name)
    except DeliveryError as exc:
        error = str(exc)
        log.warning("weekly report %s not sent to everyone, retrying later: %s", week, error)
    finally:
        for name, _recipient in claimed:
            if name not in sent:
                release(engine, holder, now, name)
    return WeeklySend(
        week,
        tuple(recipient for name, recipient in claimed if name in sent),
        tuple(recipient for name, recipient in claimed if name not in sent),
        error,
    )
