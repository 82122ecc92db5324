"""The demo's own Sigstore signing authority (Fulcio + CT log + Rekor), also used by the tests.

Its keys are generated per instance and it is trusted only through the `trusted_root.json` it
writes, which only the demo's (or a test's) `signature.trusted_root` names: nothing in toolgate
trusts it otherwise.
"""

from .signing import GITHUB_ISSUER, Break, Signer, SigningAuthority, github_signer

__all__ = ["GITHUB_ISSUER", "Break", "Signer", "SigningAuthority", "github_signer"]
