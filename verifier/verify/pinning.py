"""First-seen pinning and evidence regression: pure comparisons of what toolgate saw first
(or accepted last) with what upstream shows now. Any difference is reported, never merged."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from verifier.verify.claims import CertificateClaims


@dataclass(frozen=True, slots=True)
class AssetSighting:
    """An upstream file's identity: GitHub's asset id, its size and published digest."""

    upstream_id: int | None
    size: int | None
    digest: str | None

    def describe(self) -> str:
        return f"id {self.upstream_id}, {self.size} bytes, digest {self.digest or 'unpublished'}"


def asset_changed(pinned: AssetSighting, seen: AssetSighting) -> list[str]:
    """The properties of `seen` that differ from the pin (empty if it is the same file).

    A digest GitHub did not publish at first sight but publishes now is not a change in
    itself; its value is checked against the verified download instead.
    """
    changed = []
    if pinned.upstream_id != seen.upstream_id:
        changed.append("asset id")
    if pinned.size != seen.size:
        changed.append("size")
    if pinned.digest is not None and pinned.digest != seen.digest:
        changed.append("digest")
    return changed


@dataclass(frozen=True, slots=True)
class EvidenceProfile:
    """What kind of evidence a release came with, in terms that stay stable across releases
    (the signer's workflow without its `@ref`, not the per-release SAN)."""

    signed: bool
    checksums: bool
    attested: bool
    issuer: str | None = None
    signer: str | None = None  # SAN without "@refs/…"
    workflow: str | None = None  # signer workflow without "@refs/…"
    repository: str | None = None
    repository_id: str | None = None

    @classmethod
    def from_claims(
        cls, claims: CertificateClaims | None, *, checksums: bool, attested: bool
    ) -> EvidenceProfile:
        if claims is None:
            return cls(signed=False, checksums=checksums, attested=attested)
        return cls(
            signed=True,
            checksums=checksums,
            attested=attested,
            issuer=claims.issuer,
            signer=_without_ref(claims.san),
            workflow=_without_ref(claims.signer_workflow),
            repository=claims.repository,
            repository_id=claims.repository_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EvidenceProfile:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


@dataclass(frozen=True, slots=True)
class EvidenceChange:
    """One property of the evidence that differs from the accepted baseline."""

    name: str
    expected: object
    found: object

    def describe(self) -> str:
        return f"{self.name}={self.found} (accepted: {self.expected})"


def _gained(before: object, after: object) -> bool:
    """Whether `after` is stronger evidence than `before` (a flag turned on, a value added)."""
    if isinstance(before, bool):
        return bool(after) and not before
    return before is None and after is not None


def evidence_changes(baseline: EvidenceProfile, new: EvidenceProfile) -> list[EvidenceChange]:
    """Every way `new` is weaker than or different from `baseline`.

    Evidence gained (a checksums file or an attestation appearing, a signer where there was
    none) is not a regression: `evidence_gained` names it, for the baseline to ratchet up.
    """
    changes = []
    for f in fields(EvidenceProfile):
        before, after = getattr(baseline, f.name), getattr(new, f.name)
        if before != after and not _gained(before, after):
            changes.append(EvidenceChange(f.name, before, after))
    return changes


def evidence_gained(baseline: EvidenceProfile, new: EvidenceProfile) -> dict[str, object]:
    """The parts of `new` stronger than `baseline` (name -> new value)."""
    gained = {}
    for f in fields(EvidenceProfile):
        before, after = getattr(baseline, f.name), getattr(new, f.name)
        if _gained(before, after):
            gained[f.name] = after
    return gained


def profile_fields() -> tuple[str, ...]:
    """The names of an evidence profile's parts, in order."""
    return tuple(f.name for f in fields(EvidenceProfile))


def _without_ref(identity: str | None) -> str | None:
    if identity is None:
        return None
    return identity.split("@refs/", 1)[0]
