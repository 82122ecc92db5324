"""What an alert claims, re-checked against the current decision just before it is sent.

An alert says "runners asking for X are now answered deny (or warn), and these runners fetched
it". By the time a delivery goes out (a retry, a digest window, a backlog) that may no longer be
true: the version was accepted or approved, the incident resolved, a waiver added. The claim is
checked against a snapshot of the current policy: its action is the answer runners get now (so
the subject, the action and the body come from this one source), and a claim that no longer
holds is sent as a resolution note to recipients who heard the claim, or dropped otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from verifier.exposure import Exposure, judge_named
from verifier.policy import Query
from verifier.store.models import AlertRow

if TYPE_CHECKING:  # the snapshot module imports incidents, which import the outbox
    from verifier.snapshot import Snapshot

NOTICE = "notice"  # an incident about toolgate itself (a stale feed): no runner is answered by it
RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Claim:
    """What an alert can truthfully say now: the action runners get (`deny`, `warn`, `notice`),
    whether the alert's claim still holds (and why not), and the exposure judged by build."""

    action: str
    holds: bool
    why_not: str | None
    exposure: Exposure


def check_claim(snapshot: Snapshot, alert: AlertRow, *, resolved: bool = False) -> Claim:
    """The alert's claim against `snapshot`; `resolved`: its incident is resolved."""
    exposure = Exposure.from_dict(orjson.loads(alert.exposure_json))

    def unless_resolved(action: str, judged: Exposure) -> Claim:
        return Claim(action, not resolved, "the incident is resolved" if resolved else None, judged)

    if alert.tool == "*":
        return unless_resolved(NOTICE, exposure)
    sha256 = orjson.loads(alert.detail_json).get("sha256")
    exposure = judge_named(snapshot, exposure, alert.version, sha256)
    if alert.version is None:  # the whole tool, or a digest or commit under any version
        tool = snapshot.tools.get(alert.tool)
        mode = tool.mode if tool is not None else snapshot.unknown
        return unless_resolved("warn" if mode == "warn" else "deny", exposure)
    decision = snapshot.answer(Query(alert.tool, alert.version, sha256)).decision
    if decision.outcome == "allow":
        codes = ", ".join(r.code for r in decision.reasons) or "verified"
        why = f"{alert.tool} {alert.version} is now answered allow ({codes})"
        return Claim("allow", False, why, exposure)
    return unless_resolved(decision.outcome, exposure)
