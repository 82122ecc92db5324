"""Verify whichever kind of Sigstore bundle a publisher shipped for an artifact."""

from __future__ import annotations

from sigstore.verify import Verifier

from verifier.verify.attestations import AttestationVerified, verify_attestation
from verifier.verify.identity import IdentityPolicy
from verifier.verify.results import Rejected
from verifier.verify.signatures import Verified, is_attestation, verify_signature


def verify_bundle(
    sha256: str, bundle: bytes | None, policy: IdentityPolicy, verifier: Verifier
) -> Verified | AttestationVerified | Rejected:
    """A message signature is checked over the artifact; a DSSE attestation must name it
    as its in-toto subject."""
    if bundle is not None and is_attestation(bundle):
        return verify_attestation(sha256, bundle, policy, verifier)
    return verify_signature(sha256, bundle, policy, verifier)
