"""DSSE / in-toto attestations: signature via `sigstore`, then subject and SLSA v1 provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from sigstore.verify import Verifier

from verifier.verify.identity import IdentityPolicy, Mismatch, mismatch_failure
from verifier.verify.nesting import too_deep
from verifier.verify.results import Failure, Reason, Rejected
from verifier.verify.signatures import SignatureEvidence, run_sigstore

IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
_GITHUB = "https://github.com/"


@dataclass(frozen=True)
class Provenance:
    """Facts of a SLSA v1 provenance predicate, in config terms."""

    builder_id: str | None
    build_type: str | None
    repository: str | None  # "owner/name" for GitHub
    ref: str | None
    commit: str | None


@dataclass(frozen=True)
class ProvenanceExpectations:
    """What the provenance must say; `None` means "not checked"."""

    builder_id: str | None = None
    repository: str | None = None
    ref: str | None = None
    commit: str | None = None


@dataclass(frozen=True)
class AttestationEvidence:
    """A verified attestation: who signed it, what it is about, and its provenance."""

    signature: SignatureEvidence
    predicate_type: str
    subjects: tuple[str, ...]  # subject names
    provenance: Provenance | None  # None unless the predicate is SLSA provenance v1


@dataclass(frozen=True)
class AttestationVerified:
    """The attestation is signed by an accepted identity and is about the artifact."""

    evidence: AttestationEvidence


def verify_attestation(
    sha256: str,
    bundle: bytes | None,
    policy: IdentityPolicy,
    verifier: Verifier,
    expect: ProvenanceExpectations | None = None,
) -> AttestationVerified | Rejected:
    """Verify a DSSE bundle whose in-toto subject must be the artifact with SHA-256 `sha256`.

    With `expect`, the predicate must be SLSA provenance v1 and match it.
    """
    outcome = run_sigstore(bundle, policy, verifier, verifier.verify_dsse)
    if isinstance(outcome, Rejected):
        return outcome
    (payload_type, payload), signature = outcome
    claims = signature.claims
    statement = _statement(payload_type, payload)
    if isinstance(statement, Failure):
        return Rejected(statement, claims)
    subjects = statement.get("subject") or []
    if not any(_subject_sha256(s) == sha256.lower() for s in subjects):
        return Rejected(
            Failure(
                Reason.SIGNATURE_INVALID,
                "the attestation is about other bytes: no in-toto subject has the artifact's "
                "digest",
                expected=f"sha256:{sha256.lower()}",
                found=", ".join(f"sha256:{_subject_sha256(s)}" for s in subjects) or "none",
            ),
            claims,
        )
    predicate_type = str(statement.get("predicateType", ""))
    provenance = _provenance(statement) if predicate_type == SLSA_PROVENANCE_V1 else None
    if expect is not None:
        failure = _check_provenance(predicate_type, provenance, expect)
        if failure is not None:
            return Rejected(failure, claims)
    names = tuple(str(s.get("name", "")) for s in subjects if isinstance(s, dict))
    return AttestationVerified(AttestationEvidence(signature, predicate_type, names, provenance))


def _statement(payload_type: str, payload: bytes) -> dict[str, Any] | Failure:
    if payload_type != IN_TOTO_PAYLOAD:
        return Failure(
            Reason.NOT_VERIFIED,
            "the DSSE payload is not an in-toto statement",
            expected=IN_TOTO_PAYLOAD,
            found=payload_type,
        )
    if why := too_deep(payload):
        return Failure(Reason.NOT_VERIFIED, f"the in-toto statement is not usable: {why}")
    try:
        statement = json.loads(payload)
    except ValueError as exc:
        return Failure(Reason.NOT_VERIFIED, f"the in-toto statement is not JSON: {exc}")
    if not isinstance(statement, dict) or not isinstance(statement.get("subject"), list):
        return Failure(Reason.NOT_VERIFIED, "the in-toto statement has no subject list")
    return statement


def _subject_sha256(subject: object) -> str | None:
    if not isinstance(subject, dict) or not isinstance(subject.get("digest"), dict):
        return None
    value = subject["digest"].get("sha256")
    return value.lower() if isinstance(value, str) else None


def _provenance(statement: dict[str, Any]) -> Provenance:
    predicate = _mapping(statement.get("predicate"))
    definition = _mapping(predicate.get("buildDefinition"))
    workflow = _mapping(_mapping(definition.get("externalParameters")).get("workflow"))
    dependencies = definition.get("resolvedDependencies")
    source = _mapping(dependencies[0]) if isinstance(dependencies, list) and dependencies else {}
    uri_repo, _, uri_ref = str(source.get("uri", "")).removeprefix("git+").partition("@")
    repository = workflow.get("repository") or uri_repo or None
    return Provenance(
        builder_id=_mapping(_mapping(predicate.get("runDetails")).get("builder")).get("id"),
        build_type=definition.get("buildType"),
        repository=repository.removeprefix(_GITHUB) if repository else None,
        ref=workflow.get("ref") or uri_ref or None,
        commit=_mapping(source.get("digest")).get("gitCommit"),
    )


def _check_provenance(
    predicate_type: str, provenance: Provenance | None, expect: ProvenanceExpectations
) -> Failure | None:
    if provenance is None:
        return Failure(
            Reason.NOT_VERIFIED,
            "builder and source cannot be checked: the attestation is not SLSA provenance v1",
            expected=SLSA_PROVENANCE_V1,
            found=predicate_type or "no predicateType",
        )
    mismatches = [
        Mismatch(f.name, want, getattr(provenance, f.name))
        for f in fields(expect)
        if (want := getattr(expect, f.name)) is not None and getattr(provenance, f.name) != want
    ]
    if not mismatches:
        return None
    return mismatch_failure("the provenance names another builder or source", mismatches)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
