"""Fresh bundles from the test signing authority, good and deliberately broken."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier, policy

from verifier.demo.authority import Break, Signer, SigningAuthority, github_signer
from verifier.verify import (
    AcceptedIdentity,
    AttestationVerified,
    ClaimExpectations,
    IdentityPolicy,
    ProvenanceExpectations,
    Reason,
    Rejected,
    Verified,
    file_verifier,
    verify_attestation,
    verify_bundle,
    verify_signature,
)

TRIVY = "aquasecurity/trivy"
COMMIT = "1885610c6a34811c8296416ae69f5f002ef6e0a5"
DATA = b"trivy_0.69.3_Linux-64bit.tar.gz contents"
SHA256 = hashlib.sha256(DATA).hexdigest()
REUSABLE = f"{TRIVY}/.github/workflows/reusable-release.yaml@refs/tags/v0.69.3"
SIGNER = github_signer(
    TRIVY,
    ref="refs/tags/v0.69.3",
    sha=COMMIT,
    workflow=".github/workflows/release.yaml",
    signer_workflow=REUSABLE,
    trigger="push",
    repository_id="180687624",
    owner_id="12783832",
)
POLICY = IdentityPolicy(
    (
        AcceptedIdentity(
            SIGNER.issuer,
            san_regexp=r"^https://github\.com/aquasecurity/trivy/\.github/workflows/"
            r"reusable-release\.yaml@refs/tags/v[0-9.]+$",
            claims=ClaimExpectations(repository=TRIVY, repository_id="180687624"),
        ),
    )
)


@pytest.fixture(scope="module")
def verifier(authority_root: Path):
    return file_verifier(authority_root)


def test_fresh_bundle_verifies_with_all_claims(authority: SigningAuthority, verifier) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    result = verify_signature(
        SHA256, authority.sign_artifact(DATA, SIGNER).encode(), POLICY, verifier
    )
    assert isinstance(result, Verified), result
    evidence = result.evidence
    claims = evidence.claims
    assert claims.san == f"https://github.com/{REUSABLE}"
    assert claims.signer_workflow == claims.san
    assert (
        claims.workflow
        == f"https://github.com/{TRIVY}/.github/workflows/release.yaml@refs/tags/v0.69.3"
    )
    assert (claims.repository, claims.repository_id) == (TRIVY, "180687624")
    assert (claims.owner, claims.owner_id) == ("aquasecurity", "12783832")
    assert (claims.ref, claims.sha, claims.trigger) == ("refs/tags/v0.69.3", COMMIT, "push")
    assert claims.runner_environment == "github-hosted"
    assert claims.issuer == "https://token.actions.githubusercontent.com"
    assert evidence.entry_kind == "hashedrekord 0.0.1"
    assert evidence.integrated_time is not None and evidence.integrated_time >= before
    assert evidence.timestamps == ()


def test_bare_sigstore_accepts_the_authority(authority: SigningAuthority, authority_root) -> None:
    """The authority is checked by sigstore itself, not only through toolgate's wrapper."""
    verifier = Verifier(trusted_root=TrustedRoot.from_file(str(authority_root)))
    identity = policy.Identity(identity=SIGNER.san, issuer=SIGNER.issuer)
    signature = Bundle.from_json(authority.sign_artifact(DATA, SIGNER))
    verifier.verify_artifact(DATA, signature, identity)  # raises if not verified
    attestation = Bundle.from_json(authority.sign_statement(_provenance(SHA256), SIGNER))
    payload_type, payload = verifier.verify_dsse(attestation, identity)
    assert payload_type == "application/vnd.in-toto+json"
    assert json.loads(payload)["subject"][0]["digest"]["sha256"] == SHA256


@pytest.mark.parametrize(
    ("breaks", "detail"),
    [
        (Break.EXPIRED_CERT, "not valid at validation time"),
        (Break.UNTRUSTED_CA, "failed to build timestamp certificate chain"),
        (Break.BAD_SCT, "failed to verify SCT"),
        (Break.NO_SCT, "does not contain a signed certificate timestamp"),
        (Break.BAD_SET, "SET: invalid inclusion promise"),
        (Break.BAD_INCLUSION_PROOF, "inclusion proof contains invalid root hash"),
        (Break.BAD_CHECKPOINT, "checkpoint: invalid signature"),
        (Break.OTHER_BYTES_SIGNED, "Signature is invalid for input"),
        (Break.BODY_MISMATCH, "transparency log entry is inconsistent"),
    ],
)
def test_broken_bundles_are_signature_invalid(authority, verifier, breaks: Break, detail: str):
    bundle = authority.sign_artifact(DATA, SIGNER, breaks=breaks).encode()
    result = verify_signature(SHA256, bundle, POLICY, verifier)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID, result.failure
    assert detail in result.failure.detail


def test_broken_bundle_by_a_wrong_signer_is_still_reported_as_broken(authority, verifier):
    fork = github_signer("attacker/trivy", ref="refs/tags/v0.69.4", sha="f" * 40)
    bundle = authority.sign_artifact(DATA, fork, breaks=Break.BAD_SET).encode()
    result = verify_signature(SHA256, bundle, POLICY, verifier)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID


def test_same_reusable_workflow_called_from_another_repository(authority, verifier) -> None:
    """With reusable workflows the SAN names the called workflow: pinning the source
    repository (and its id) is what stops another repository from reusing it."""
    caller = github_signer(
        "attacker/trivy-fork",
        ref="refs/tags/v0.69.3",
        sha=COMMIT,
        signer_workflow=REUSABLE,
        repository_id="999",
        owner_id="998",
    )
    assert caller.san == SIGNER.san
    result = verify_signature(
        SHA256, authority.sign_artifact(DATA, caller).encode(), POLICY, verifier
    )
    assert isinstance(result, Rejected)
    failure = result.failure
    assert failure.reason == Reason.IDENTITY_MISMATCH
    assert failure.expected == f"repository={TRIVY}, repository_id=180687624"
    assert failure.found == "repository=attacker/trivy-fork, repository_id=999"


def test_renamed_impostor_repository_fails_on_the_numeric_id(authority, verifier) -> None:
    impostor = github_signer(
        TRIVY, ref="refs/tags/v0.69.3", sha=COMMIT, signer_workflow=REUSABLE, repository_id="666"
    )
    result = verify_signature(
        SHA256, authority.sign_artifact(DATA, impostor).encode(), POLICY, verifier
    )
    assert isinstance(result, Rejected)
    assert result.failure.found == "repository_id=666"


def test_email_identity(authority, verifier) -> None:
    signer = Signer("maintainer@example.com", "https://github.com/login/oauth")
    policy = IdentityPolicy((AcceptedIdentity(signer.issuer, san=signer.san),))
    bundle = authority.sign_artifact(DATA, signer).encode()
    assert isinstance(verify_signature(SHA256, bundle, policy, verifier), Verified)


def _provenance(subject_sha256: str, predicate_type: str = "https://slsa.dev/provenance/v1"):
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "trivy_0.69.3_Linux-64bit.tar.gz", "digest": {"sha256": subject_sha256}}
        ],
        "predicateType": predicate_type,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/tags/v0.69.3",
                        "repository": f"https://github.com/{TRIVY}",
                        "path": ".github/workflows/release.yaml",
                    }
                },
                "resolvedDependencies": [
                    {
                        "uri": f"git+https://github.com/{TRIVY}@refs/tags/v0.69.3",
                        "digest": {"gitCommit": COMMIT},
                    }
                ],
            },
            "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"}},
        },
    }


EXPECT = ProvenanceExpectations(
    builder_id="https://github.com/actions/runner/github-hosted",
    repository=TRIVY,
    ref="refs/tags/v0.69.3",
    commit=COMMIT,
)


def test_fresh_slsa_attestation(authority, verifier) -> None:
    bundle = authority.sign_statement(_provenance(SHA256), SIGNER).encode()
    result = verify_attestation(SHA256, bundle, POLICY, verifier, EXPECT)
    assert isinstance(result, AttestationVerified), result
    assert result.evidence.provenance is not None
    assert result.evidence.provenance.commit == COMMIT
    assert result.evidence.signature.entry_kind == "dsse 0.0.1"


def test_attestation_for_other_bytes(authority, verifier) -> None:
    other = hashlib.sha256(b"another build").hexdigest()
    bundle = authority.sign_statement(_provenance(other), SIGNER).encode()
    result = verify_attestation(SHA256, bundle, POLICY, verifier, EXPECT)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID
    assert result.failure.found == f"sha256:{other}"


def test_provenance_from_an_impostor_commit(authority, verifier) -> None:
    statement = _provenance(SHA256)
    statement["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"] = {
        "gitCommit": "e" * 40
    }
    bundle = authority.sign_statement(statement, SIGNER).encode()
    result = verify_attestation(SHA256, bundle, POLICY, verifier, EXPECT)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.IDENTITY_MISMATCH
    assert result.failure.found == f"commit={'e' * 40}"


def test_non_slsa_predicate_cannot_satisfy_provenance_expectations(authority, verifier) -> None:
    statement = _provenance(SHA256, predicate_type="https://spdx.dev/Document")
    bundle = authority.sign_statement(statement, SIGNER).encode()
    assert isinstance(verify_attestation(SHA256, bundle, POLICY, verifier), AttestationVerified)
    result = verify_attestation(SHA256, bundle, POLICY, verifier, EXPECT)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.NOT_VERIFIED


def test_broken_attestation(authority, verifier) -> None:
    bundle = authority.sign_statement(_provenance(SHA256), SIGNER, breaks=Break.BAD_SCT).encode()
    result = verify_attestation(SHA256, bundle, POLICY, verifier)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID


def test_cli_on_fresh_bundles(toolgate, authority, authority_root, tmp_path) -> None:
    artifact = tmp_path / "trivy_0.69.3_Linux-64bit.tar.gz"
    artifact.write_bytes(DATA)
    Path(f"{artifact}.sigstore.json").write_text(authority.sign_artifact(DATA, SIGNER))
    signer = ["--identity", SIGNER.san, "--issuer", SIGNER.issuer, "--trusted-root", authority_root]
    ok = toolgate("verify", artifact, *signer, "--repository", TRIVY, "--sha", COMMIT, "--json")
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert ok.json()["evidence"]["repository_id"] == "180687624"
    Path(f"{artifact}.sigstore.json").write_text(
        authority.sign_artifact(DATA, SIGNER, breaks=Break.EXPIRED_CERT)
    )
    broken = toolgate("verify", artifact, *signer, "--json")
    assert broken.exit_code == 1
    assert broken.json()["reason"] == "signature-invalid"
    explained = toolgate("explain", f"{artifact}.sigstore.json", "--json").json()["claims"]
    assert explained["identity"] == SIGNER.san
    assert explained["workflow"].endswith("release.yaml@refs/tags/v0.69.3")


# Fields that are hints or optional: replacing them leaves a bundle that still verifies.
UNAUTHENTICATED = {
    ("messageSignature", "messageDigest"),
    ("verificationMaterial", "timestampVerificationData"),
    ("dsseEnvelope", "signatures", 0, "keyid"),
}
REPLACEMENTS = (None, 0, -1, 10**30, "", "AAAA", "!!", [], {})


def _paths(node: object, prefix: tuple = ()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


@pytest.mark.parametrize("kind", ["signature", "attestation"])
def test_every_field_replaced_fails_closed(authority, verifier, kind: str) -> None:
    """Each field of a good bundle, replaced by a wrong value, gives a Rejected (never an
    exception), except the fields sigstore treats as hints."""
    if kind == "signature":
        original = json.loads(authority.sign_artifact(DATA, SIGNER))
    else:
        original = json.loads(authority.sign_statement(_provenance(SHA256), SIGNER))
    for path in _paths(original):
        for replacement in REPLACEMENTS:
            bundle = copy.deepcopy(original)
            parent = bundle
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = replacement
            result = verify_bundle(SHA256, json.dumps(bundle).encode(), POLICY, verifier)
            if path not in UNAUTHENTICATED:
                assert isinstance(result, Rejected), (path, replacement)
