"""Verification primitives: downloads, checksums, Sigstore signatures and attestations.

A library with no knowledge of the daemon: data in, frozen results out.
"""

from verifier.verify.artifact import verify_bundle
from verifier.verify.attestations import (
    AttestationEvidence,
    AttestationVerified,
    Provenance,
    ProvenanceExpectations,
    verify_attestation,
)
from verifier.verify.checksums import ChecksumEntry, Checksums, check_digest, parse_checksums
from verifier.verify.claims import CertificateClaims, claims_from_certificate
from verifier.verify.digests import Digests, hash_file
from verifier.verify.download import Downloaded, DownloadLimits, download
from verifier.verify.errors import (
    AssetNotListed,
    ChecksumError,
    ChecksumFormatError,
    DownloadError,
    HTTPStatus,
    PolicyError,
    RedirectNotAllowed,
    Timeout,
    TooLarge,
    Truncated,
    TrustRootError,
    VerifyError,
)
from verifier.verify.identity import AcceptedIdentity, ClaimExpectations, IdentityPolicy
from verifier.verify.results import Failure, Reason, Rejected
from verifier.verify.signatures import SignatureEvidence, Verified, verify_signature
from verifier.verify.trust import Instance, file_verifier, instance_verifier

__all__ = [
    "AcceptedIdentity",
    "AssetNotListed",
    "AttestationEvidence",
    "AttestationVerified",
    "CertificateClaims",
    "ChecksumEntry",
    "ChecksumError",
    "ChecksumFormatError",
    "Checksums",
    "ClaimExpectations",
    "Digests",
    "DownloadError",
    "DownloadLimits",
    "Downloaded",
    "Failure",
    "HTTPStatus",
    "IdentityPolicy",
    "Instance",
    "PolicyError",
    "Provenance",
    "ProvenanceExpectations",
    "Reason",
    "RedirectNotAllowed",
    "Rejected",
    "SignatureEvidence",
    "Timeout",
    "TooLarge",
    "Truncated",
    "TrustRootError",
    "Verified",
    "VerifyError",
    "check_digest",
    "claims_from_certificate",
    "download",
    "file_verifier",
    "hash_file",
    "instance_verifier",
    "parse_checksums",
    "verify_attestation",
    "verify_bundle",
    "verify_signature",
]
