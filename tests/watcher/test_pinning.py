"""First-seen comparisons and evidence profiles (pure)."""

from __future__ import annotations

import pytest

from verifier.sources.naming import render
from verifier.verify.claims import CertificateClaims
from verifier.verify.pinning import (
    AssetSighting,
    EvidenceChange,
    EvidenceProfile,
    asset_changed,
    evidence_changes,
)

PIN = AssetSighting(7, 100, "sha256:" + "a" * 64)
TRIVY = "https://github.com/aquasecurity/trivy/.github/workflows/reusable-release.yaml"


@pytest.mark.parametrize(
    ("seen", "changed"),
    [
        (PIN, []),
        (AssetSighting(8, 100, PIN.digest), ["asset id"]),
        (AssetSighting(7, 101, PIN.digest), ["size"]),
        (AssetSighting(7, 100, "sha256:" + "b" * 64), ["digest"]),
        (AssetSighting(7, 100, None), ["digest"]),
        (AssetSighting(9, 1, None), ["asset id", "size", "digest"]),
    ],
)
def test_any_difference_from_the_first_sighting_is_a_change(seen, changed):
    assert asset_changed(PIN, seen) == changed


def test_a_digest_published_later_is_not_a_change_by_itself():
    assert asset_changed(AssetSighting(7, 100, None), PIN) == []


def claims(version: str, workflow: str = TRIVY, repository: str = "aquasecurity/trivy"):
    return CertificateClaims(
        san=f"{workflow}@refs/tags/{version}",
        issuer="https://token.actions.githubusercontent.com",
        repository=repository,
        repository_id="180687624",
        signer_workflow=f"{workflow}@refs/tags/{version}",
    )


def profile(version: str = "v0.69.3", **kw) -> EvidenceProfile:
    options = {"checksums": True, "attested": False, **kw}
    return EvidenceProfile.from_claims(claims(version), **options)


def test_the_profile_does_not_change_with_the_release_ref():
    assert profile("v0.69.2") == profile("v0.69.3")
    assert profile().signer == TRIVY


def test_weaker_or_other_evidence_is_a_change_and_gained_evidence_is_not():
    assert evidence_changes(profile(), profile(checksums=False)) == [
        EvidenceChange("checksums", True, False)
    ]
    assert evidence_changes(profile(), profile(attested=True)) == []
    unsigned = EvidenceProfile.from_claims(None, checksums=True, attested=False)
    assert next(c.name for c in evidence_changes(profile(), unsigned)) == "signed"
    fork = EvidenceProfile.from_claims(
        claims("v0.69.4", repository="attacker/trivy"), checksums=True, attested=False
    )
    assert [c.describe() for c in evidence_changes(profile(), fork)] == [
        "repository=attacker/trivy (accepted: aquasecurity/trivy)"
    ]


def test_profiles_round_trip_through_json_dicts():
    assert EvidenceProfile.from_dict({**profile().to_dict(), "unknown": 1}) == profile()


def test_templates_fill_version_tag_and_asset():
    assert render("trivy_{version}_Linux-64bit.tar.gz", tag="v0.69.3") == (
        "trivy_0.69.3_Linux-64bit.tar.gz"
    )
    assert render("{asset}.sigstore.json", tag="v1", asset="x.tgz") == "x.tgz.sigstore.json"
    assert render("@refs/tags/{tag}", tag="v0.69.3") == "@refs/tags/v0.69.3"
