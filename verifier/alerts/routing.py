"""Who hears about an alert, and when: pure functions of the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Literal

from verifier.config import AlertsConfig, bare_address

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Target:
    """One destination of an alert: a mail recipient or a webhook (by its label)."""

    channel: Literal["email", "webhook"]
    name: str
    digest: timedelta  # 0: send at once; else batch into the digest window


def _matches(tools: list[str], min_severity: str, tool: str, severity: str) -> bool:
    rank = SEVERITY_RANK.get(severity, SEVERITY_RANK["critical"])
    return rank >= SEVERITY_RANK[min_severity] and any(fnmatchcase(tool, g) for g in tools)


def plan_targets(alerts: AlertsConfig, tool: str, severity: str, action: str) -> list[Target]:
    """Every matching route's recipients (each once, with the first match's timing) and webhooks."""
    targets: list[Target] = []
    seen: set[str] = set()
    for route in alerts.routes:
        if not _matches(route.tools, route.min_severity, tool, severity):
            continue
        digest = route.deny_digest if action == "deny" else route.digest
        for recipient in route.to:
            if (bare := bare_address(recipient).lower()) not in seen:
                seen.add(bare)
                targets.append(Target("email", recipient, digest))
    targets.extend(
        Target("webhook", webhook.label, timedelta(0))
        for webhook in alerts.webhooks
        if _matches(webhook.tools, webhook.min_severity, tool, severity)
    )
    return targets


def digest_window_end(now: datetime, window: timedelta) -> datetime:
    """The end of the digest window `now` falls in; windows are aligned on the epoch."""
    size = int(window.total_seconds())
    elapsed = int((now - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=(elapsed // size + 1) * size)
