"""Read a Fulcio signing certificate's identity claims, in the terms toolgate's config uses.

Fulcio OIDs: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md. The 1.1-1.6
extensions are deprecated raw strings; 1.8+ are DER UTF8Strings. Where both carry a value,
the newer one wins.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cryptography import x509
from cryptography.hazmat import asn1
from cryptography.x509.oid import ObjectIdentifier

_PREFIX = "1.3.6.1.4.1.57264.1."
_SAN_OTHERNAME = ObjectIdentifier(_PREFIX + "7")
_GITHUB = "https://github.com/"

# claim name -> (current OID suffix, deprecated OID suffix or None)
_CLAIM_OIDS: dict[str, tuple[str, str | None]] = {
    "issuer": ("8", "1"),
    "repository": ("12", "5"),
    "repository_id": ("15", None),
    "owner": ("16", None),
    "owner_id": ("17", None),
    "ref": ("14", "6"),
    "sha": ("13", "3"),
    "trigger": ("20", "2"),
    "workflow": ("18", None),
    "workflow_sha": ("19", None),
    "signer_workflow": ("9", None),
    "signer_workflow_sha": ("10", None),
    "runner_environment": ("11", None),
    "run_url": ("21", None),
    "visibility": ("22", None),
}
_SUFFIXES = {
    ObjectIdentifier(_PREFIX + suffix): suffix
    for pair in _CLAIM_OIDS.values()
    for suffix in pair
    if suffix is not None
}
_STRIP_GITHUB = frozenset({"repository", "owner"})


@dataclass(frozen=True)
class CertificateClaims:
    """Identity claims of a signing certificate. `None` means the certificate lacks the claim."""

    san: str
    issuer: str | None = None
    repository: str | None = None  # "owner/name" for GitHub, the source URI otherwise
    repository_id: str | None = None
    owner: str | None = None
    owner_id: str | None = None
    ref: str | None = None  # source ref, e.g. "refs/tags/v0.69.4"
    sha: str | None = None  # source commit
    trigger: str | None = None  # event that started the run, e.g. "push"
    workflow: str | None = None  # the top-level workflow (build config) "...@ref"
    workflow_sha: str | None = None
    signer_workflow: str | None = None  # the workflow that signed; a reusable one if called
    signer_workflow_sha: str | None = None
    runner_environment: str | None = None  # "github-hosted" or "self-hosted"
    run_url: str | None = None
    visibility: str | None = None

    def present(self) -> dict[str, str]:
        """The claims the certificate carries, in field order."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def claims_from_certificate(cert: x509.Certificate) -> CertificateClaims:
    """Extract the SAN and Fulcio claims of `cert`; never raises for missing claims."""
    raw: dict[str, bytes] = {}
    for ext in cert.extensions:
        suffix = _SUFFIXES.get(ext.oid)
        if suffix is not None and isinstance(ext.value, x509.UnrecognizedExtension):
            raw[suffix] = ext.value.value
    values = {name: _claim(raw, new, old) for name, (new, old) in _CLAIM_OIDS.items()}
    for name in _STRIP_GITHUB:
        value = values[name]
        if value is not None and value.startswith(_GITHUB):
            values[name] = value.removeprefix(_GITHUB)
    return CertificateClaims(san=_san(cert), **values)


def _claim(raw: dict[str, bytes], new: str, old: str | None) -> str | None:
    try:
        if new in raw:
            return asn1.decode_der(str, raw[new])
        if old is not None and old in raw:
            return raw[old].decode()
    except ValueError:  # includes UnicodeDecodeError
        return None
    return None


def _san(cert: x509.Certificate) -> str:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    names = [
        *san.get_values_for_type(x509.UniformResourceIdentifier),
        *san.get_values_for_type(x509.RFC822Name),
        *(
            o.value.decode(errors="replace")
            for o in san.get_values_for_type(x509.OtherName)
            if o.type_id == _SAN_OTHERNAME
        ),
    ]
    return names[0] if names else ""
