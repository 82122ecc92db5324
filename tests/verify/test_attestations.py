"""DSSE/in-toto attestations: subject digest and SLSA v1 provenance on real bundles."""

from __future__ import annotations

import hashlib

import pytest

from verifier.verify import (
    AcceptedIdentity,
    AttestationVerified,
    IdentityPolicy,
    Instance,
    ProvenanceExpectations,
    Reason,
    Rejected,
    file_verifier,
    instance_verifier,
    verify_attestation,
)

from .conftest import SIGSTORE

CASE = SIGSTORE / "conf-happy-path-intoto-in-dsse-v3"
BUNDLE = (CASE / "bundle.sigstore.json").read_bytes()
SUBJECT_SHA256 = hashlib.sha256((CASE / "artifact").read_bytes()).hexdigest()
POLICY = IdentityPolicy(
    (
        AcceptedIdentity(
            "https://token.actions.githubusercontent.com",
            san_regexp=r"^https://github\.com/sigstore-conformance/extremely-dangerous-public-oidc"
            r"-beacon/\.github/workflows/[^/]+@refs/heads/main$",
        ),
    )
)
BUILDER = (
    "https://github.com/loosebazooka/aa-test/.github/workflows/provenance.yaml@refs/heads/main"
)


def attest(expect: ProvenanceExpectations | None = None, sha256: str = SUBJECT_SHA256):
    return verify_attestation(
        sha256, BUNDLE, POLICY, instance_verifier(Instance.PRODUCTION), expect
    )


def test_slsa_provenance_is_extracted_and_checked() -> None:
    expect = ProvenanceExpectations(
        builder_id=BUILDER,
        repository="loosebazooka/aa-test",
        ref="refs/heads/main",
        commit="ebff8dfbd609b7b22237c7719ce07f2dc7934f5f",
    )
    result = attest(expect)
    assert isinstance(result, AttestationVerified)
    evidence = result.evidence
    assert evidence.predicate_type == "https://slsa.dev/provenance/v1"
    assert evidence.subjects == ("a.txt",)
    assert evidence.provenance is not None
    assert evidence.provenance.builder_id == BUILDER
    assert evidence.signature.entry_kind == "dsse 0.0.1"


@pytest.mark.parametrize(
    ("expect", "found"),
    [
        (
            ProvenanceExpectations(repository="aquasecurity/trivy"),
            "repository=loosebazooka/aa-test",
        ),
        (ProvenanceExpectations(builder_id="https://example.com/builder"), f"builder_id={BUILDER}"),
        (ProvenanceExpectations(ref="refs/tags/v1"), "ref=refs/heads/main"),
    ],
)
def test_provenance_mismatch_is_identity_mismatch(expect: ProvenanceExpectations, found: str):
    result = attest(expect)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.IDENTITY_MISMATCH
    assert result.failure.found == found


def test_subject_digest_must_be_the_artifact() -> None:
    other = hashlib.sha256(b"another artifact").hexdigest()
    result = attest(sha256=other)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID
    assert result.failure.expected == f"sha256:{other}"
    assert result.failure.found == f"sha256:{SUBJECT_SHA256}"


def test_intoto_002_entries_are_not_verified_rather_than_tampered() -> None:
    case = SIGSTORE / "conf-intoto-with-custom-trust-root"
    result = verify_attestation(
        hashlib.sha256((case / "artifact").read_bytes()).hexdigest(),
        (case / "bundle.sigstore.json").read_bytes(),
        POLICY,
        file_verifier(case / "trusted_root.json"),
    )
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.NOT_VERIFIED
    assert "Integrated time only supported for dsse/hashedrekord 0.0.1 types" in (
        result.failure.detail
    )


def test_a_deeply_nested_attestation_bundle_is_refused() -> None:
    nested = b'{"dsseEnvelope": %s}' % (b"[" * 100_000 + b"]" * 100_000)
    result = verify_attestation(
        SUBJECT_SHA256, nested, POLICY, instance_verifier(Instance.PRODUCTION), None
    )
    assert isinstance(result, Rejected) and "nested too deeply" in result.failure.detail
