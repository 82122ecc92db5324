"""A Sigstore instance for the demo and the tests: a Fulcio-like CA issuing short-lived
certificates with the GitHub OIDC claims, a CT log embedding SCTs, a Rekor log issuing SETs and
inclusion proofs with signed checkpoints, and the trusted_root.json that trusts exactly these keys.

Bundles it produces verify with `Verifier(trusted_root=TrustedRoot.from_file(...))` and with
nothing else (its keys exist only in this process); `Break` produces deliberately broken ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat import asn1
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from . import merkle

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
IN_TOTO = "application/vnd.in-toto+json"
_FULCIO = "1.3.6.1.4.1.57264.1."
_SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_REKOR_URL = "https://rekor.toolgate.test"
_ORIGIN = "rekor.toolgate.test - 8050909264565447525"
_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)

# Fulcio extension name -> (OID suffix, DER UTF8String (new style) or raw bytes (deprecated))
FULCIO_EXTENSIONS: dict[str, tuple[str, bool]] = {
    "issuer_v1": ("1", False),
    "github_workflow_trigger": ("2", False),
    "github_workflow_sha": ("3", False),
    "github_workflow_name": ("4", False),
    "github_workflow_repository": ("5", False),
    "github_workflow_ref": ("6", False),
    "issuer": ("8", True),
    "build_signer_uri": ("9", True),
    "build_signer_digest": ("10", True),
    "runner_environment": ("11", True),
    "source_repository_uri": ("12", True),
    "source_repository_digest": ("13", True),
    "source_repository_ref": ("14", True),
    "source_repository_identifier": ("15", True),
    "source_repository_owner_uri": ("16", True),
    "source_repository_owner_identifier": ("17", True),
    "build_config_uri": ("18", True),
    "build_config_digest": ("19", True),
    "build_trigger": ("20", True),
    "run_invocation_uri": ("21", True),
    "source_repository_visibility_at_signing": ("22", True),
}


@dataclass(frozen=True)
class Signer:
    """Who the certificate says signed: SAN, OIDC issuer and Fulcio claims by name."""

    san: str
    issuer: str = GITHUB_ISSUER
    claims: Mapping[str, str] = field(default_factory=dict)


def github_signer(
    repository: str,
    *,
    ref: str,
    sha: str,
    workflow: str = ".github/workflows/release.yml",
    signer_workflow: str | None = None,
    trigger: str = "push",
    repository_id: str = "100001",
    owner_id: str = "200002",
    runner_environment: str = "github-hosted",
) -> Signer:
    """A signer as GitHub Actions' OIDC token yields it. With `signer_workflow` (a reusable
    workflow "owner/repo/.github/workflows/x.yml@ref"), the SAN is the called workflow."""
    owner = repository.split("/")[0]
    caller = f"https://github.com/{repository}/{workflow}@{ref}"
    san = f"https://github.com/{signer_workflow}" if signer_workflow else caller
    claims = {
        "github_workflow_trigger": trigger,
        "github_workflow_sha": sha,
        "github_workflow_name": "Release",
        "github_workflow_repository": repository,
        "github_workflow_ref": ref,
        "build_signer_uri": san,
        "build_signer_digest": sha,
        "runner_environment": runner_environment,
        "source_repository_uri": f"https://github.com/{repository}",
        "source_repository_digest": sha,
        "source_repository_ref": ref,
        "source_repository_identifier": repository_id,
        "source_repository_owner_uri": f"https://github.com/{owner}",
        "source_repository_owner_identifier": owner_id,
        "build_config_uri": caller,
        "build_config_digest": sha,
        "build_trigger": trigger,
        "run_invocation_uri": f"https://github.com/{repository}/actions/runs/42/attempts/1",
        "source_repository_visibility_at_signing": "public",
    }
    return Signer(san, GITHUB_ISSUER, claims)


class Break(Enum):
    """Ways to break a bundle on purpose."""

    EXPIRED_CERT = "the certificate expired before the log entry was integrated"
    UNTRUSTED_CA = "the certificate is issued by a CA outside the trusted root"
    BAD_SCT = "the embedded SCT is signed by a key that is not the CT log's"
    NO_SCT = "the certificate has no embedded SCT"
    BAD_SET = "the signed entry timestamp is signed by a key that is not Rekor's"
    BAD_INCLUSION_PROOF = "a hash of the inclusion proof is altered"
    BAD_CHECKPOINT = "the checkpoint is signed by a key that is not Rekor's"
    OTHER_BYTES_SIGNED = "the signature is over other bytes than the message digest says"
    BODY_MISMATCH = "the log entry records another artifact digest (CVE-2022-36056)"


@dataclass
class _LogEntry:
    body: bytes
    kind: str
    index: int
    integrated_time: int


class SigningAuthority:
    """Fulcio + CT log + Rekor for the demo and tests; every key is generated per instance."""

    def __init__(self) -> None:
        self._start = datetime.now(UTC) - timedelta(days=1)
        self._ca_key = _new_key()
        self._ca = _ca_certificate(self._ca_key, "toolgate test fulcio", self._start)
        self._stranger_key = _new_key()
        self._stranger = _ca_certificate(self._stranger_key, "someone else's CA", self._start)
        self._ct_key = _new_key()
        self._rekor_key = _new_key()
        self._impostor_key = _new_key()
        # entries other people logged before us: our entries are not alone in the tree
        self._leaves = [merkle.leaf_hash(b"earlier entry %d" % i) for i in range(6)]

    # trust root ---------------------------------------------------------------------------

    def trusted_root(self) -> dict[str, Any]:
        """The trusted_root.json document for this instance."""
        valid_for = {"start": self._start.isoformat().replace("+00:00", "Z")}

        def log(key: ec.EllipticCurvePrivateKey, url: str) -> dict[str, Any]:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": _b64(_spki(key)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": valid_for,
                },
                "logId": {"keyId": _b64(_key_id(key))},
            }

        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self._rekor_key, _REKOR_URL)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "toolgate", "commonName": "toolgate test fulcio"},
                    "uri": "https://fulcio.toolgate.test",
                    "certChain": {"certificates": [{"rawBytes": _b64(_der(self._ca))}]},
                    "validFor": valid_for,
                }
            ],
            "ctlogs": [log(self._ct_key, "https://ctfe.toolgate.test")],
            "timestampAuthorities": [],
        }

    def write_trusted_root(self, path: Path) -> Path:
        path.write_text(json.dumps(self.trusted_root(), indent=2))
        return path

    # signing ------------------------------------------------------------------------------

    def sign_artifact(self, data: bytes, signer: Signer, *, breaks: Break | None = None) -> str:
        """A v0.3 bundle with a message signature over `data` (hashedrekord 0.0.1 entry)."""
        key = _new_key()
        cert = self._certificate(signer, key, breaks)
        digest = hashlib.sha256(data).digest()
        signed = (
            hashlib.sha256(b"other bytes").digest()
            if breaks is Break.OTHER_BYTES_SIGNED
            else digest
        )
        signature = key.sign(signed, ec.ECDSA(Prehashed(hashes.SHA256())))
        logged = (
            hashlib.sha256(b"another artifact").digest()
            if breaks is Break.BODY_MISMATCH
            else digest
        )
        body = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": logged.hex()}},
                "signature": {
                    "content": _b64(signature),
                    "publicKey": {"content": _b64(_pem(cert))},
                },
            },
        }
        entry = self._log(rfc8785.dumps(body), "hashedrekord", breaks)
        content = {
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": _b64(digest)},
                "signature": _b64(signature),
            }
        }
        return self._bundle(cert, entry, content)

    def sign_statement(
        self, statement: Mapping[str, Any], signer: Signer, *, breaks: Break | None = None
    ) -> str:
        """A v0.3 bundle with a DSSE envelope around an in-toto statement (dsse 0.0.1 entry)."""
        key = _new_key()
        cert = self._certificate(signer, key, breaks)
        payload = json.dumps(statement).encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(IN_TOTO), IN_TOTO.encode(), len(payload), payload)
        signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
        envelope = {
            "payload": _b64(payload),
            "payloadType": IN_TOTO,
            "signatures": [{"sig": _b64(signature), "keyid": ""}],
        }
        body = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(json.dumps(envelope).encode()).hexdigest(),
                },
                "payloadHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(payload).hexdigest(),
                },
                "signatures": [{"signature": _b64(signature), "verifier": _b64(_pem(cert))}],
            },
        }
        entry = self._log(rfc8785.dumps(body), "dsse", breaks)
        return self._bundle(cert, entry, {"dsseEnvelope": envelope})

    # Fulcio -------------------------------------------------------------------------------

    def _certificate(
        self, signer: Signer, key: ec.EllipticCurvePrivateKey, breaks: Break | None
    ) -> x509.Certificate:
        now = datetime.now(UTC)
        not_before, lifetime = now - timedelta(minutes=1), timedelta(minutes=10)
        if breaks is Break.EXPIRED_CERT:
            not_before -= timedelta(minutes=30)
        ca_key, ca = (
            (self._stranger_key, self._stranger)
            if breaks is Break.UNTRUSTED_CA
            else (self._ca_key, self._ca)
        )
        san: x509.GeneralName = (
            x509.RFC822Name(signer.san)
            if "@" in signer.san and "://" not in signer.san
            else x509.UniformResourceIdentifier(signer.san)
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + lifetime)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
        )
        claims = {"issuer_v1": signer.issuer, "issuer": signer.issuer, **signer.claims}
        for name, value in claims.items():
            suffix, der = FULCIO_EXTENSIONS[name]
            raw = asn1.encode_der(value) if der else value.encode()
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier(_FULCIO + suffix), raw), False
            )
        if breaks is Break.NO_SCT:
            return builder.sign(ca_key, hashes.SHA256())
        # The precertificate is this builder plus the CT poison extension; the log signs its
        # TBS without the poison, which is exactly this builder's TBS. The final certificate
        # appends the SCT list, which `tbs_precertificate_bytes` removes again.
        tbs = builder.sign(ca_key, hashes.SHA256()).tbs_certificate_bytes
        ct_key = self._impostor_key if breaks is Break.BAD_SCT else self._ct_key
        sct_list = _sct_list(tbs, ca_key, ct_key, self._ct_key, now)
        cert = builder.add_extension(
            x509.UnrecognizedExtension(_SCT_LIST, asn1.encode_der(sct_list)), False
        ).sign(ca_key, hashes.SHA256())
        assert cert.tbs_precertificate_bytes == tbs
        return cert

    # Rekor --------------------------------------------------------------------------------

    def _log(self, body: bytes, kind: str, breaks: Break | None) -> dict[str, Any]:
        index = len(self._leaves)
        self._leaves.append(merkle.leaf_hash(body))
        integrated = int(datetime.now(UTC).timestamp())
        log_id = _key_id(self._rekor_key)
        leaves = list(self._leaves)
        root = merkle.root(leaves)
        proof = merkle.inclusion_path(index, leaves)
        if breaks is Break.BAD_INCLUSION_PROOF:
            proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
        set_payload = rfc8785.dumps(
            {
                "body": _b64(body),
                "integratedTime": integrated,
                "logID": log_id.hex(),
                "logIndex": index,
            }
        )
        set_key = self._impostor_key if breaks is Break.BAD_SET else self._rekor_key
        checkpoint_key = self._impostor_key if breaks is Break.BAD_CHECKPOINT else self._rekor_key
        return {
            "logIndex": str(index),
            "logId": {"keyId": _b64(log_id)},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": str(integrated),
            "inclusionPromise": {"signedEntryTimestamp": _b64(_sign(set_key, set_payload))},
            "inclusionProof": {
                "logIndex": str(index),
                "rootHash": _b64(root),
                "treeSize": str(len(leaves)),
                "hashes": [_b64(h) for h in proof],
                "checkpoint": {"envelope": self._checkpoint(checkpoint_key, len(leaves), root)},
            },
            "canonicalizedBody": _b64(body),
        }

    def _checkpoint(self, key: ec.EllipticCurvePrivateKey, size: int, root: bytes) -> str:
        note = f"{_ORIGIN}\n{size}\n{_b64(root)}\n"
        # the key hint is the first 4 bytes of the log's key id (which the verifier expects),
        # even when BAD_CHECKPOINT signs with another key
        signature = _key_id(self._rekor_key)[:4] + _sign(key, note.encode())
        return f"{note}\n\u2014 {_ORIGIN.split(' ')[0]} {_b64(signature)}\n"

    @staticmethod
    def _bundle(cert: x509.Certificate, entry: dict[str, Any], content: dict[str, Any]) -> str:
        return json.dumps(
            {
                "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": {
                    "certificate": {"rawBytes": _b64(_der(cert))},
                    "tlogEntries": [entry],
                    "timestampVerificationData": {},
                },
                **content,
            }
        )


def _sct_list(
    tbs: bytes,
    issuer_key: ec.EllipticCurvePrivateKey,
    signing_key: ec.EllipticCurvePrivateKey,
    log_key: ec.EllipticCurvePrivateKey,
    now: datetime,
) -> bytes:
    """RFC 6962 SignedCertificateTimestampList with one precert SCT (v1, no extensions)."""
    timestamp = int(now.timestamp() * 1000)
    signed_entry = _key_id(issuer_key) + len(tbs).to_bytes(3, "big") + tbs
    # version v1(0), signature_type certificate_timestamp(0), timestamp, entry_type precert(1)
    signed = struct.pack("!BBQH", 0, 0, timestamp, 1) + signed_entry + struct.pack("!H", 0)
    signature = _sign(signing_key, signed)
    sct = (
        struct.pack("!B", 0)
        + _key_id(log_key)
        + struct.pack("!QH", timestamp, 0)
        + struct.pack("!BBH", 4, 3, len(signature))  # sha256, ecdsa
        + signature
    )
    serialized = struct.pack("!H", len(sct)) + sct
    return struct.pack("!H", len(serialized)) + serialized


def _ca_certificate(
    key: ec.EllipticCurvePrivateKey, name: str, start: datetime
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "toolgate"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )


def _key_usage(**enabled: bool) -> x509.KeyUsage:
    return x509.KeyUsage(**{n: enabled.get(n, False) for n in _KEY_USAGES})


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_id(key: ec.EllipticCurvePrivateKey) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
