"""The inventory as people read it: each tool, its approved versions and each version's decision.

One shape for the API (`/v1/tools`), the CLI (`toolgate tools`) and reports.
"""

from __future__ import annotations

from typing import Any

from verifier.policy import Override, Query
from verifier.snapshot import Snapshot
from verifier.versioning import canonical_version


def known_versions(snapshot: Snapshot, name: str) -> list[str]:
    """Versions toolgate has seen or an operator approved, in string order: one per release
    (an approval of `1.2.0` names the release `v1.2.0`, spelled as upstream does)."""
    facts = snapshot.tools[name]
    spelled = {canonical_version(r.version): r.version for r in facts.releases.values()}
    for approval in facts.approvals:
        if approval.version and approval.active(snapshot.now):
            spelled.setdefault(canonical_version(approval.version), approval.version)
    return sorted(spelled.values())


def _override_view(override: Override) -> dict[str, Any]:
    return {
        "id": override.id,
        "kind": override.kind,
        "version": override.version,
        "sha256": override.sha256,
        "commit": override.commit,
        "reason": override.reason,
        "actor": override.actor,
        "expires_at": override.expires_at.isoformat() if override.expires_at else None,
    }


def tool_view(snapshot: Snapshot, name: str, *, detail: bool = False) -> dict[str, Any]:
    """A tool's summary; with `detail`, every known version's decision and active overrides."""
    facts = snapshot.tools[name]
    active = [o for o in (*facts.approvals, *facts.blocks) if o.active(snapshot.now)]
    view: dict[str, Any] = {
        "name": name,
        "mode": facts.mode,
        "approved": list(facts.approved.entries),
        "cooldown_seconds": facts.cooldown.total_seconds(),
        "newest_allowed": snapshot.newest.get(name),
        "known_versions": len(known_versions(snapshot, name)),
        "active_blocks": sum(1 for o in active if o.kind == "block"),
    }
    if detail:
        versions = []
        for version in known_versions(snapshot, name):
            decision = snapshot.answer(Query(name, version)).decision
            versions.append(
                {
                    "version": version,
                    "decision": decision.outcome,
                    "reasons": [reason.to_dict() for reason in decision.reasons],
                }
            )
        view["versions"] = versions
        view["overrides"] = [_override_view(o) for o in active]
    return view
