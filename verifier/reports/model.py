"""What reports are made of: the inventory, its evidence, advisories and exposure, as frozen values.

`verifier.reports.collect` reads these from the store in a handful of bulk queries; every format
and the dashboard read only these. Times are timezone-aware UTC; sequences are in a stable order
(tools by name, versions newest first, everything else by name or time) so reports diff cleanly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal, TypeVar

from verifier.exposure import ExposedRunner
from verifier.policy import Override, Reason

AdvisoryState = Literal["deny", "warn", "waived"]
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class AssetEvidence:
    """A verified file of a release: its digest, where it was vouched for, its first-seen pin."""

    name: str
    sha256: str
    size: int | None
    checksum_source: str | None  # "github-digest", "trivy_0.69.3_checksums.txt line 4", …
    published_digest: str | None  # the upstream's own digest when first seen ("sha256:…")
    first_seen_at: datetime | None  # when toolgate pinned it


@dataclass(frozen=True, slots=True)
class SignatureEvidence:
    """Who signed a file (Sigstore certificate claims) and where the signature is logged."""

    asset: str
    signer: str | None
    issuer: str | None
    repository: str | None
    workflow: str | None
    ref: str | None
    source_commit: str | None
    rekor_log_index: int | None
    integrated_time: str | None


def _by_asset(record: type[R], entries: Mapping[str, Mapping[str, Any]] | None) -> tuple[R, ...]:
    """Stored evidence entries (asset name -> fields) as `record`s, by asset name."""
    names = [f.name for f in fields(record) if f.name != "asset"]  # type: ignore[arg-type]
    return tuple(
        record(asset=name, **{key: entry.get(key) for key in names})
        for name, entry in sorted((entries or {}).items())
    )


def signature_evidence(evidence: Mapping[str, Any]) -> tuple[SignatureEvidence, ...]:
    """The signatures of a release's stored evidence (`evidence_json`), by asset name."""
    return _by_asset(SignatureEvidence, evidence.get("signatures"))


@dataclass(frozen=True, slots=True)
class AttestationRecord:
    """A verified artifact attestation of a file: what it states (its predicate type), who
    signed it, the source commit its certificate names, and where it is logged."""

    asset: str
    predicate_type: str | None
    signer: str | None
    issuer: str | None
    source_commit: str | None
    rekor_log_index: int | None
    integrated_time: str | None


def attestation_evidence(evidence: Mapping[str, Any]) -> tuple[AttestationRecord, ...]:
    """The verified attestations of a release's stored evidence (`evidence_json`), by asset."""
    return _by_asset(AttestationRecord, evidence.get("attestations"))


@dataclass(frozen=True, slots=True)
class TagPin:
    """The commit a tag pointed at when first seen, and where it points now."""

    tag: str
    commit: str
    current_commit: str
    first_seen_at: datetime
    moved_at: datetime | None

    @property
    def moved(self) -> bool:
        return self.commit != self.current_commit


@dataclass(frozen=True, slots=True)
class AdvisoryMatch:
    """An advisory affecting a tool version, weighed by the policy (`state`)."""

    advisory_id: str
    aliases: tuple[str, ...]
    severity: str | None
    action: Literal["deny", "warn"]
    summary: str
    detail: str
    waiver: str | None  # the waiver that turns it into an override, described
    state: AdvisoryState  # `waived` when a waiver applies, else `action`
    unevaluated: bool = False  # covers the tool but could not be compared with the version


@dataclass(frozen=True, slots=True)
class VersionReport:
    """One version of a tool: what toolgate answers for it now, why, and its evidence.

    `status` is the release's verification state (`pending`, `verified`, `rejected`), or
    `approved` for a version known only from a manual approval.
    """

    tool: str
    version: str
    status: str
    decision: str
    reasons: tuple[Reason, ...]
    first_seen_at: datetime | None
    verified_at: datetime | None
    commit: str | None  # the source commit (binaries) or the tag's first commit (actions)
    source_branch: str | None
    assets: tuple[AssetEvidence, ...]
    signatures: tuple[SignatureEvidence, ...]
    attestations: tuple[AttestationRecord, ...]
    tag_pin: TagPin | None
    advisories: tuple[AdvisoryMatch, ...]
    overrides: tuple[Override, ...]  # active approvals and blocks naming this version
    release_url: str | None

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)


@dataclass(frozen=True, slots=True)
class EvidenceBaseline:
    """The evidence profile of the tool's last accepted release (see `toolgate accept-evidence`)."""

    version: str
    signed: bool
    checksums: bool
    attested: bool
    signer: str | None
    issuer: str | None
    accepted_at: datetime
    accepted_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class ToolReport:
    """A tool of the inventory, its versions newest first and its active overrides."""

    name: str
    source: str
    kind: str
    mode: str
    approved: tuple[str, ...]
    cooldown_seconds: float
    newest_allowed: str | None
    versions: tuple[VersionReport, ...]
    overrides: tuple[Override, ...]  # active approvals, blocks and waivers (store and config)
    baseline: EvidenceBaseline | None


@dataclass(frozen=True, slots=True)
class Inventory:
    """Every tool of the inventory as of `generated_at` (the explicit `now` of the report)."""

    generated_at: datetime
    policy_revision: int
    tools: tuple[ToolReport, ...]
    unversioned_feed_hits: tuple[tuple[str, AdvisoryMatch], ...] = ()  # (tool, hit)


@dataclass(frozen=True, slots=True)
class ExposureEntry:
    """A version runners were allowed (or warned) to fetch that is not allowed now."""

    tool: str
    version: str
    decision: str
    reasons: tuple[Reason, ...]
    runners: tuple[ExposedRunner, ...]


@dataclass(frozen=True, slots=True)
class AuditDecision:
    """One answer given to a runner (the decision audit trail)."""

    at: datetime
    token_name: str
    runner: str | None
    job: str | None
    tool: str
    version: str
    sha256: str | None
    decision: str
    would_deny: bool
    reason_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One operator action (approve, block, revoke, token change…)."""

    at: datetime
    actor: str
    action: str
    target: str
    detail: str  # compact JSON


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """Decisions and operator actions in [`since`, `until`], newest first."""

    since: datetime
    until: datetime
    decisions: tuple[AuditDecision, ...]
    events: tuple[AuditEvent, ...]
    truncated: bool  # more decisions than the report lists
