"""A tool's evidence baseline: the strongest evidence its accepted releases came with, and which
release each part came from.

It ratchets: a verified release with stronger evidence (an attestation, a checksums file, a
signer, a source repository id) strengthens it at once; it only weakens through
`toolgate accept-evidence`, with a reason, audited. A release with weaker or other evidence is
held `evidence-changed` until then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlmodel import Session

from verifier.store.models import EvidenceBaselineRow
from verifier.verify.pinning import EvidenceProfile, profile_fields


@dataclass(frozen=True, slots=True)
class Baseline:
    """The profile a tool's next release is compared with; `sources` names, per part, the
    release it came from."""

    version: str
    profile: EvidenceProfile
    sources: dict[str, str]
    accepted_by: str
    reason: str

    @classmethod
    def first(cls, version: str, profile: EvidenceProfile, actor: str, reason: str) -> Baseline:
        return cls(version, profile, dict.fromkeys(profile_fields(), version), actor, reason)

    def adopting(self, parts: dict[str, object], version: str, actor: str, reason: str) -> Baseline:
        """This baseline with `parts` (name -> value) taken from release `version`."""
        return Baseline(
            version=version,
            profile=replace(self.profile, **parts),  # type: ignore[arg-type]
            sources={**self.sources, **dict.fromkeys(parts, version)},
            accepted_by=actor,
            reason=reason,
        )

    def source(self, name: str) -> str:
        """The release part `name` came from."""
        return self.sources.get(name, self.version)

    def parts(self) -> list[dict[str, Any]]:
        """Each part with its value and the release it came from (for `toolgate explain`)."""
        values = self.profile.to_dict()
        return [
            {"name": name, "value": values[name], "from": self.source(name)}
            for name in profile_fields()
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "accepted_by": self.accepted_by,
            "reason": self.reason,
            "parts": self.parts(),
        }


def load_baseline(session: Session, tool: str) -> Baseline | None:
    """The tool's baseline, or None before its first verified release."""
    row = session.get(EvidenceBaselineRow, tool)
    if row is None:
        return None
    raw = orjson.loads(row.profile_json)
    sources = raw.pop("sources", None) or {}
    return Baseline(
        row.version, EvidenceProfile.from_dict(raw), sources, row.accepted_by, row.reason
    )


def save_baseline(session: Session, tool: str, baseline: Baseline) -> None:
    """Write the baseline in the caller's transaction (its sources stored with the profile)."""
    row = session.get(EvidenceBaselineRow, tool) or EvidenceBaselineRow(
        tool=tool, version=baseline.version, profile_json="{}", accepted_by="", reason=""
    )
    row.version = baseline.version
    row.profile_json = orjson.dumps(
        {**baseline.profile.to_dict(), "sources": baseline.sources}
    ).decode()
    row.accepted_by, row.reason = baseline.accepted_by, baseline.reason
    row.accepted_at = datetime.now(UTC)
    session.add(row)
