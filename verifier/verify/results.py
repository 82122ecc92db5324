"""Verification outcomes: stable reason codes and the frozen values every check returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from verifier.verify.claims import CertificateClaims


class Reason(StrEnum):
    """Why a check did not verify. The values are stable API (decision reasons)."""

    UNSIGNED = "unsigned"
    SIGNATURE_INVALID = "signature-invalid"
    IDENTITY_MISMATCH = "identity-mismatch"
    NOT_VERIFIED = "not-verified"
    CHECKSUM_MISMATCH = "checksum-mismatch"


@dataclass(frozen=True)
class Failure:
    """A failed check: the reason code, what was expected and what was found."""

    reason: Reason
    detail: str
    expected: str | None = None
    found: str | None = None

    def describe(self) -> str:
        """One human line: detail, then expected vs found when known."""
        parts = [f"{self.reason}: {self.detail}"]
        if self.expected is not None:
            parts.append(f"expected {self.expected}")
        if self.found is not None:
            parts.append(f"found {self.found}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Rejected:
    """A check that did not verify; `claims` holds what the certificate says, when readable."""

    failure: Failure
    claims: CertificateClaims | None = None
