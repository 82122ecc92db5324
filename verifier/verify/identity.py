"""Identity policy: which signers toolgate accepts, built from config-like inputs.

A policy is a non-empty list of accepted identities (any one may match). Each names the
OIDC issuer and either an exact SAN or an anchored regexp, plus optional GitHub claims.
There is no way to build a policy that trusts every signer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from verifier.verify.claims import CertificateClaims
from verifier.verify.errors import PolicyError
from verifier.verify.results import Failure, Reason


@dataclass(frozen=True)
class ClaimExpectations:
    """GitHub workflow claims a signing certificate must carry; `None` means "not checked"."""

    repository: str | None = None  # "owner/name"
    repository_id: str | None = None  # numeric id: survives renames, unlike the name
    owner_id: str | None = None
    ref: str | None = None  # e.g. "refs/tags/v0.69.4"
    sha: str | None = None  # source commit
    trigger: str | None = None  # e.g. "push"
    runner_environment: str | None = None  # e.g. "github-hosted"

    def expected(self) -> dict[str, str]:
        """The claims this expectation checks."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class Mismatch:
    """One claim that differs: its name, the expected value and what the certificate says."""

    claim: str
    expected: str
    found: str | None


@dataclass(frozen=True)
class AcceptedIdentity:
    """One signer toolgate accepts: issuer + (exact SAN | anchored SAN regexp) + claims."""

    issuer: str
    san: str | None = None
    san_regexp: str | None = None
    claims: ClaimExpectations = ClaimExpectations()

    def __post_init__(self) -> None:
        if not self.issuer:
            raise PolicyError("issuer is empty: name the OIDC issuer the signer must use")
        if (self.san is None) == (self.san_regexp is None):
            raise PolicyError("give exactly one of identity (exact SAN) or identity_regexp")
        if self.san is not None and not self.san:
            raise PolicyError("identity is empty: give the signer's exact SAN")
        if self.san_regexp is not None:
            _check_anchored(self.san_regexp)

    def mismatches(self, claims: CertificateClaims) -> list[Mismatch]:
        """Every way `claims` differs from this identity (empty when it matches)."""
        found: list[Mismatch] = []
        if claims.issuer != self.issuer:
            found.append(Mismatch("issuer", self.issuer, claims.issuer))
        if self.san is not None and claims.san != self.san:
            found.append(Mismatch("identity", self.san, claims.san))
        if self.san_regexp is not None and not re.fullmatch(self.san_regexp, claims.san):
            found.append(Mismatch("identity_regexp", self.san_regexp, claims.san))
        for name, value in self.claims.expected().items():
            actual = getattr(claims, name)
            if actual != value:
                found.append(Mismatch(name, value, actual))
        return found


@dataclass(frozen=True)
class IdentityPolicy:
    """Accepted signers; a certificate matching any one of them passes."""

    accepted: tuple[AcceptedIdentity, ...]

    def __post_init__(self) -> None:
        if not self.accepted:
            raise PolicyError("no accepted identity: an empty policy would trust every signer")

    def check(self, claims: CertificateClaims) -> Failure | None:
        """`None` if `claims` match an accepted identity, else an identity-mismatch failure."""
        per_identity = [identity.mismatches(claims) for identity in self.accepted]
        if any(not m for m in per_identity):
            return None
        closest = min(per_identity, key=len)
        closest_of = "" if len(self.accepted) == 1 else " (closest accepted identity)"
        return mismatch_failure(
            f"the signature is valid but the signer is not accepted{closest_of}", closest
        )


def mismatch_failure(what: str, mismatches: list[Mismatch]) -> Failure:
    """An identity-mismatch failure listing each differing claim, expected vs found."""
    return Failure(
        Reason.IDENTITY_MISMATCH,
        f"{what}; mismatched: {', '.join(m.claim for m in mismatches)}",
        expected=", ".join(f"{m.claim}={m.expected}" for m in mismatches),
        found=", ".join(f"{m.claim}={m.found}" for m in mismatches),
    )


def _check_anchored(pattern: str) -> None:
    # fullmatch() is what enforces the whole-SAN match; requiring the anchors makes the
    # config say what it does, so nobody reads "github.com/org/" as a prefix rule.
    if not (pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith(r"\$")):
        raise PolicyError(
            f"identity_regexp {pattern!r} is not anchored: write it as '^...$'. Unanchored, "
            "'https://github.com/org/repo/' would also match a SAN such as "
            "'https://github.com/org/repo-evil-fork/...'"
        )
    try:
        re.compile(pattern)
    except re.error as exc:
        raise PolicyError(f"identity_regexp {pattern!r} is not a valid regexp: {exc}") from exc
