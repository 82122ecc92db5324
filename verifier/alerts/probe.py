"""`toolgate alerts test`: one test message through every configured channel, sent at once.

The message goes straight to the channels (not through the outbox) so the operator sees each
channel's answer, including a refused password or an unreachable relay, in the terminal.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from verifier.alerts.errors import DeliveryError
from verifier.alerts.message import AlertView, build_email, webhook_payload
from verifier.alerts.smtp import open_relay
from verifier.alerts.webhook import deliver
from verifier.config import Config, bare_address
from verifier.exposure import Exposure


@dataclass(frozen=True, slots=True)
class ProbeResult:
    channel: str
    target: str
    error: str | None


def _test_view(now: datetime) -> AlertView:
    return AlertView(
        key=uuid.uuid4().hex,
        action="test",
        kind="test",
        tool="toolgate",
        version="test",
        severity="low",
        summary="test message from `toolgate alerts test`: this channel works",
        detail={},
        created_at=now,
        exposure=Exposure("toolgate", "test", None, None, ()),
    )


def _recipients(config: Config) -> list[str]:
    seen: dict[str, str] = {}
    for route in config.alerts.routes:
        for recipient in route.to:
            seen.setdefault(bare_address(recipient).lower(), recipient)
    return list(seen.values())


def send_test_messages(config: Config) -> list[ProbeResult]:
    """Mail every routed recipient and POST to every webhook; one result per destination."""
    now = datetime.now(UTC)
    view = _test_view(now)
    results = []
    recipients = _recipients(config)
    smtp = config.alerts.smtp
    if smtp is not None and recipients:
        try:
            with open_relay(smtp, config) as relay:
                for recipient in recipients:
                    message = build_email(
                        [view], key=view.key, sender=smtp.sender, recipient=recipient, now=now
                    )
                    try:
                        relay.send(message, recipient)
                        results.append(ProbeResult("email", recipient, None))
                    except DeliveryError as exc:
                        results.append(ProbeResult("email", recipient, str(exc)))
        except DeliveryError as exc:
            done = {result.target for result in results}
            results.extend(
                ProbeResult("email", recipient, str(exc))
                for recipient in recipients
                if recipient not in done
            )
    with httpx.Client(follow_redirects=False) as client:
        for webhook in config.alerts.webhooks:
            try:
                deliver(client, webhook, config, webhook_payload(view, view.key), view.key)
                results.append(ProbeResult("webhook", webhook.label, None))
            except DeliveryError as exc:
                results.append(ProbeResult("webhook", webhook.label, str(exc)))
    return results
