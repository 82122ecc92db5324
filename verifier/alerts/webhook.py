"""Webhook delivery: a JSON POST signed with HMAC-SHA256 under a per-endpoint secret."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from verifier import __version__
from verifier.alerts.errors import DeliveryError
from verifier.config import Config, WebhookConfig, read_secret
from verifier.errors import ConfigError

SIGNATURE_HEADER = "X-Toolgate-Signature-256"
DELIVERY_HEADER = "X-Toolgate-Delivery"


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the exact body bytes (receivers compare in constant time)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(
    client: httpx.Client, webhook: WebhookConfig, secret: str, body: bytes, delivery_id: str
) -> None:
    """POST one payload; anything but a 2xx (redirects are not followed) is a DeliveryError."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"toolgate/{__version__}",
        SIGNATURE_HEADER: sign(secret, body),
        DELIVERY_HEADER: delivery_id,
        "X-Toolgate-Event": "alert",
    }
    try:
        response = client.post(
            webhook.url, content=body, headers=headers, timeout=webhook.timeout.total_seconds()
        )
    except httpx.HTTPError as exc:
        # The URL may embed a token (Slack-style hooks): name the endpoint by its label only.
        raise DeliveryError(f"webhook {webhook.label}: {type(exc).__name__}") from None
    if response.is_redirect:
        raise DeliveryError(
            f"webhook {webhook.label}: answered {response.status_code} "
            "redirect; redirects are not followed, configure the final URL"
        )
    if not response.is_success:
        raise DeliveryError(f"webhook {webhook.label}: answered {response.status_code}")


def deliver(
    client: httpx.Client, webhook: WebhookConfig, config: Config, body: bytes, delivery_id: str
) -> None:
    """Read the endpoint's secret (fresh, so a rotated file takes effect) and POST `body`."""
    try:
        secret = read_secret(webhook.secret_file, config)
    except ConfigError as exc:
        raise DeliveryError(str(exc)) from None
    post(client, webhook, secret, body, delivery_id)
