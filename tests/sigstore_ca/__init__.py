"""A test Sigstore signing authority (Fulcio + CT log + Rekor) built by the tests."""

from .authority import GITHUB_ISSUER, Break, Signer, SigningAuthority, github_signer

__all__ = ["GITHUB_ISSUER", "Break", "Signer", "SigningAuthority", "github_signer"]
