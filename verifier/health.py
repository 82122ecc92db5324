"""What degrades a running replica: one account for `/readyz`, `systemctl status` and doctor.

Degraded means decisions still flow (from the last snapshot) but something behind them does
not: the store cannot be read, records cannot be written, a background loop fails or is stuck,
a feed fails or is stale, an upstream cannot be polled.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifier.service import Service


def background_problems(service: Service) -> dict[str, str]:
    """Failing or stuck background loops, by name (with the alert sender's own last error)."""
    problems = service.supervisor.problems()
    if service.alerts.store_error and "alert-sender" not in problems:
        problems["alert-sender"] = service.alerts.store_error
    return problems


def readiness(service: Service, now: datetime) -> dict[str, Any]:
    """The `/readyz` body of a started service: `status` is `ready` or `degraded`, and why."""
    staleness = service.staleness(now) or 0.0
    stale = staleness > service.config.server.max_snapshot_age.total_seconds()
    stale_upstreams = service.stale_upstreams(now)
    failing = background_problems(service)
    audit = service.audit.problem
    degraded = (
        bool(service.store_error)
        or stale
        or bool(audit)
        or bool(failing)
        or bool(service.stale_feeds)
        or bool(service.failing_feeds)
        or bool(stale_upstreams)
    )
    return {
        "status": "degraded" if degraded else "ready",
        "policy_revision": service.snapshot_at(now).revision,
        "snapshot_age_seconds": round(staleness, 3),
        "store": service.store_error or "ok",
        "audit": audit or "ok",
        "failing": failing,
        "stale_feeds": service.stale_feeds,
        "failing_feeds": sorted(service.failing_feeds),
        "stale_upstreams": stale_upstreams,
        "audit_pending": len(service.audit),
        "audit_dropped": service.audit.dropped,
    }


def problem_lines(body: dict[str, Any]) -> list[str]:
    """A `/readyz` body's problems, one short line each (empty when ready)."""
    lines = []
    if body.get("store", "ok") != "ok":
        lines.append(f"store unreachable: {body['store']}")
    if body.get("audit", "ok") != "ok":
        lines.append(f"audit records not stored: {body['audit']}")
    lines += [f"{name}: {error}" for name, error in sorted(body.get("failing", {}).items())]
    if body.get("failing_feeds"):
        lines.append(f"failing feeds {', '.join(body['failing_feeds'])}")
    if body.get("stale_feeds"):
        lines.append(f"stale feeds {', '.join(body['stale_feeds'])}")
    if body.get("stale_upstreams"):
        lines.append(f"stale upstreams {', '.join(body['stale_upstreams'])}")
    return lines
