"""Choose the Sigstore root of trust and build the `sigstore` Verifier for it."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig, TrustedRoot
from sigstore.verify import Verifier

from verifier.verify.errors import TrustRootError

_CLIENT_TRUST_CONFIG = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"


class Instance(StrEnum):
    """Sigstore public-good instances whose trust roots ship inside `sigstore`."""

    PRODUCTION = "production"
    STAGING = "staging"


def instance_verifier(
    instance: Instance = Instance.PRODUCTION, *, offline: bool = True
) -> Verifier:
    """A Verifier for a public-good instance (build it once and keep it).

    Offline (the default) uses the trust root embedded in `sigstore` (or a newer one a
    previous online run cached) and makes no network request; online refreshes it via TUF.
    """
    try:
        if instance is Instance.STAGING:
            return Verifier.staging(offline=offline)
        return Verifier.production(offline=offline)
    except SigstoreError as exc:
        raise TrustRootError(f"cannot load the Sigstore {instance} trust root: {exc}") from exc


def file_verifier(path: Path) -> Verifier:
    """A Verifier for a `trusted_root.json` or ClientTrustConfig (private Sigstore, tests)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TrustRootError(f"cannot read trusted root {path}: {exc.strerror}") from exc
    try:
        if _media_type(raw) == _CLIENT_TRUST_CONFIG:
            root = ClientTrustConfig.from_json(raw.decode()).trusted_root
        else:
            root = TrustedRoot.from_file(str(path))
        return Verifier(trusted_root=root)
    except (SigstoreError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise TrustRootError(
            f"{path} is not a valid Sigstore trusted root or client trust config: "
            f"{_first_line(exc)}"
        ) from exc


def _media_type(raw: bytes) -> str | None:
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc.get("mediaType") if isinstance(doc, dict) else None


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split("\n")[:3])
