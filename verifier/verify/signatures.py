"""Sigstore bundle verification with `sigstore`, classified into toolgate's reason codes.

`sigstore` raises one exception type for every failure. We turn that into a stable reason:
`signature-invalid` (the bundle does not prove anything), `identity-mismatch` (it proves a
signature by someone we do not accept), `not-verified` (this client cannot check it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from cryptography.x509 import Certificate
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError
from sigstore.hashes import Hashed
from sigstore.models import Bundle, IncompatibleEntry, InvalidBundle
from sigstore.verify import Verifier
from sigstore.verify.policy import VerificationPolicy
from sigstore_models.common.v1 import HashAlgorithm

from verifier.verify.claims import CertificateClaims, claims_from_certificate
from verifier.verify.identity import IdentityPolicy
from verifier.verify.nesting import too_deep
from verifier.verify.results import Failure, Reason, Rejected

T = TypeVar("T")
Check = Callable[[Bundle, VerificationPolicy], T]

# sigstore messages that mean "this client cannot check this kind of entry", not tampering.
_UNSUPPORTED = (
    "Integrated time only supported for dsse/hashedrekord 0.0.1 types",
    "Unsupported DSSE log entry type",
    "Unsupported hashedrekord version",
)


@dataclass(frozen=True)
class SignatureEvidence:
    """What a verified bundle proves, for the record and for policy rules."""

    claims: CertificateClaims
    log_index: int
    log_id: str  # hex key id of the transparency log
    entry_kind: str  # e.g. "hashedrekord 0.0.1"
    integrated_time: datetime | None  # Rekor v1 time, bound by the signed entry timestamp
    timestamps: tuple[datetime, ...]  # RFC 3161 times verified against the trust root

    @property
    def signed_at(self) -> datetime:
        """The earliest verified time the signature is known to have existed."""
        times = [*self.timestamps, *([self.integrated_time] if self.integrated_time else [])]
        return min(times)


@dataclass(frozen=True)
class Verified:
    """The bundle is a valid signature over the artifact by an accepted identity."""

    evidence: SignatureEvidence


def verify_signature(
    sha256: str, bundle: bytes | None, policy: IdentityPolicy, verifier: Verifier
) -> Verified | Rejected:
    """Verify a message-signature bundle over the artifact whose SHA-256 (hex) is `sha256`.

    `bundle` is the bundle's raw JSON, `None` if the artifact has none (`unsigned`).
    """
    if bundle is not None and is_attestation(bundle):
        return Rejected(
            Failure(
                Reason.NOT_VERIFIED,
                "the bundle holds a DSSE attestation, not a signature over the artifact",
                expected="a message-signature bundle",
                found="a DSSE envelope (verify it as an attestation)",
            )
        )
    digest = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(sha256))
    outcome = run_sigstore(
        bundle, policy, verifier, lambda b, p: verifier.verify_artifact(digest, b, p)
    )
    if isinstance(outcome, Rejected):
        return outcome
    return Verified(outcome[1])


def is_attestation(bundle: bytes) -> bool:
    """True if the bundle JSON carries a DSSE envelope rather than a message signature."""
    if too_deep(bundle):
        return False  # load_bundle says why it is not a bundle at all
    try:
        doc = json.loads(bundle)
    except ValueError:
        return False
    return isinstance(doc, dict) and "dsseEnvelope" in doc


def load_bundle(raw: bytes) -> Bundle | Failure:
    """Parse a bundle, or say why it cannot be one."""
    if why := too_deep(raw):
        return Failure(Reason.SIGNATURE_INVALID, f"invalid bundle: {why}")
    try:
        return Bundle.from_json(raw)
    except IncompatibleEntry as exc:
        return Failure(Reason.NOT_VERIFIED, f"unsupported transparency log entry: {exc}")
    except InvalidBundle as exc:
        if _has_public_key(raw):
            return Failure(
                Reason.NOT_VERIFIED,
                "the bundle is signed with a managed public key, not a Fulcio certificate; "
                "toolgate verifies keyless signatures only",
                expected="a signing certificate",
                found="a public key hint",
            )
        return Failure(Reason.SIGNATURE_INVALID, f"invalid bundle: {_first_line(exc)}")
    except (SigstoreError, ValueError) as exc:
        return Failure(Reason.SIGNATURE_INVALID, f"invalid bundle: {_first_line(exc)}")


def run_sigstore(
    raw: bytes | None, policy: IdentityPolicy, verifier: Verifier, check: Check[T]
) -> tuple[T, SignatureEvidence] | Rejected:
    """Load `raw`, run a `sigstore` check on it under `policy`, and classify the outcome."""
    if raw is None:
        return Rejected(
            Failure(Reason.UNSIGNED, "no Sigstore bundle", expected="a bundle", found="none")
        )
    bundle = load_bundle(raw)
    if isinstance(bundle, Failure):
        return Rejected(bundle)
    enforce = _Enforce(policy)
    try:
        value = check(bundle, enforce)
    except _IdentityRejected as exc:
        return Rejected(_classify_identity(bundle, check, exc.failure), enforce.claims)
    except Exception as exc:  # fail closed on anything sigstore raises
        claims = claims_from_certificate(bundle.signing_certificate)
        return Rejected(_classify(exc), claims)
    claims = enforce.claims or claims_from_certificate(bundle.signing_certificate)
    return value, _evidence(bundle, verifier, claims)


class _IdentityRejected(VerificationError):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


class _Enforce:
    """Adapts an IdentityPolicy to sigstore's VerificationPolicy protocol; keeps the claims
    it read, for the evidence."""

    def __init__(self, policy: IdentityPolicy) -> None:
        self._policy = policy
        self.claims: CertificateClaims | None = None

    def verify(self, cert: Certificate) -> None:
        self.claims = claims_from_certificate(cert)
        failure = self._policy.check(self.claims)
        if failure is not None:
            raise _IdentityRejected(failure)


class _AnySigner:
    """Accepts every certificate. Only used to tell a wrong signer from a broken bundle,
    after the real policy has already rejected it: its success never verifies anything."""

    def verify(self, cert: Certificate) -> None:
        return None


def _classify_identity(bundle: Bundle, check: Check[T], mismatch: Failure) -> Failure:
    # sigstore checks the identity before the log entry and the signature: finish those
    # checks so a broken bundle by a wrong signer is reported as broken, not as mismatched.
    try:
        check(bundle, _AnySigner())
    except Exception as exc:
        return _classify(exc)
    return mismatch


def _classify(exc: Exception) -> Failure:
    message = _first_line(exc)
    if any(marker in message for marker in _UNSUPPORTED):
        return Failure(
            Reason.NOT_VERIFIED,
            f"sigstore cannot verify this kind of log entry: {message}",
        )
    if isinstance(exc, SigstoreError | ValueError):
        return Failure(Reason.SIGNATURE_INVALID, message)
    return Failure(Reason.NOT_VERIFIED, f"verification failed unexpectedly: {exc!r}")


def _evidence(bundle: Bundle, verifier: Verifier, claims: CertificateClaims) -> SignatureEvidence:
    entry = bundle.log_entry._inner
    bound = entry.integrated_time and entry.inclusion_promise
    return SignatureEvidence(
        claims=claims,
        log_index=int(entry.log_index),
        log_id=entry.log_id.key_id.hex(),
        entry_kind=f"{entry.kind_version.kind} {entry.kind_version.version}",
        integrated_time=datetime.fromtimestamp(entry.integrated_time, UTC) if bound else None,
        timestamps=_verified_timestamps(bundle, verifier),
    )


def _verified_timestamps(bundle: Bundle, verifier: Verifier) -> tuple[datetime, ...]:
    if bundle.verification_material.timestamp_verification_data is None:
        return ()
    # Private API (pinned: sigstore>=4.5,<5): it returns only the timestamps that verify
    # against the trust root, so an extra forged timestamp cannot backdate the evidence.
    results = verifier._verify_timestamp_authority(bundle)
    return tuple(sorted(r.time for r in results))


def _has_public_key(raw: bytes) -> bool:
    try:
        material = json.loads(raw).get("verificationMaterial", {})
    except (ValueError, AttributeError):
        return False
    return isinstance(material, dict) and "publicKey" in material


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[:2]).strip() or type(exc).__name__
