"""PyPI: a project's releases from the JSON API (conditional, one request when unchanged) and
PEP 740 provenance (the index's integrity API), converted to Sigstore bundles for verification.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from verifier.sources.api import ApiClient, json_body
from verifier.sources.errors import NotFound, UpstreamError
from verifier.sources.github import Cached, Listing, UpstreamAsset, UpstreamRelease

BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO = "application/vnd.in-toto+json"


class PyPI(ApiClient):
    """A Python package index with PyPI's JSON and integrity APIs."""

    def releases_url(self, project: str) -> str:
        return f"{self.base_url}/pypi/{project}/json"

    def releases(self, project: str, previous: Cached | None) -> Listing[UpstreamRelease]:
        """Every release with its files (newest first by upload time); yanked ones included,
        since a runner pinning `==version` still gets them."""
        url = self.releases_url(project)
        headers = {"If-None-Match": previous.etag} if previous else {}
        response = self._get(url, headers)
        if response.status_code == 304 and previous is not None:
            stored = orjson.loads(previous.body_json)
            items = tuple(UpstreamRelease.from_dict(raw) for raw in stored)
            return Listing(url, False, items, previous.etag, "")
        body = json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("releases"), dict):
            raise UpstreamError(f"GET {url}: expected PyPI's JSON API document with releases")
        releases = sorted(
            (_release(version, files) for version, files in body["releases"].items() if files),
            key=lambda release: release.created_at,
            reverse=True,
        )
        stored_body = orjson.dumps([asdict(r) for r in releases]).decode()
        return Listing(url, True, tuple(releases), response.headers.get("etag"), stored_body)

    def provenance(self, project: str, version: str, filename: str) -> list[bytes]:
        """Sigstore bundles (JSON) of the file's PEP 740 attestations; [] if it has none."""
        url = f"{self.base_url}/integrity/{project}/{version}/{filename}/provenance"
        try:
            body = self._json(url)
        except NotFound:
            return []
        try:
            return [
                attestation_bundle(attestation)
                for bundle in body["attestation_bundles"]
                for attestation in bundle["attestations"]
            ]
        except (KeyError, TypeError) as exc:
            raise UpstreamError(f"GET {url}: not a PEP 740 provenance object ({exc!r})") from exc


def attestation_bundle(attestation: dict[str, Any]) -> bytes:
    """A PEP 740 attestation object as the Sigstore bundle (v0.3, DSSE) it was made from."""
    material = attestation["verification_material"]
    envelope = attestation["envelope"]
    bundle = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {
            "certificate": {"rawBytes": material["certificate"]},
            "tlogEntries": material["transparency_entries"][:1],
        },
        "dsseEnvelope": {
            "payload": envelope["statement"],
            "payloadType": IN_TOTO,
            "signatures": [{"sig": envelope["signature"]}],
        },
    }
    return orjson.dumps(bundle)


def _release(version: str, files: list[dict[str, Any]]) -> UpstreamRelease:
    try:
        assets = tuple(
            UpstreamAsset(
                name=str(f["filename"]),
                id=0,  # PyPI never lets a file name be uploaded twice: the name is the identity
                size=int(f["size"]),
                digest=f"sha256:{f['digests']['sha256']}",
                url=str(f["url"]),
            )
            for f in files
        )
        uploaded = min(str(f.get("upload_time_iso_8601") or "") for f in files)
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamError(f"a file of release {version} lacks {exc}: not PyPI's shape") from exc
    return UpstreamRelease(tag=version, id=0, prerelease=False, created_at=uploaded, assets=assets)
