"""Moved to `verifier.demo.authority` (the demo ships it); kept so existing imports work."""

from verifier.demo.authority import GITHUB_ISSUER, Break, Signer, SigningAuthority, github_signer

__all__ = ["GITHUB_ISSUER", "Break", "Signer", "SigningAuthority", "github_signer"]
