"""A fake PyPI on 127.0.0.1: the JSON API (`/pypi/NAME/json`), PEP 740 provenance
(`/integrity/NAME/VERSION/FILE/provenance`) and file downloads, with the same ETags, 304s,
failure injection and request log as the fake GitHub."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from verifier.demo.upstream import FakeGitHub, sha256_hex


def bundle_attestation(bundle: dict[str, Any]) -> dict[str, Any]:
    """The PEP 740 attestation object PyPI stores for a DSSE Sigstore bundle."""
    envelope = bundle["dsseEnvelope"]
    material = bundle["verificationMaterial"]
    return {
        "version": 1,
        "verification_material": {
            "certificate": material["certificate"]["rawBytes"],
            "transparency_entries": material["tlogEntries"],
        },
        "envelope": {
            "statement": envelope["payload"],
            "signature": envelope["signatures"][0]["sig"],
        },
    }


class FakePyPI(FakeGitHub):
    """Projects, their releases' files and provenance; `publish` adds a release."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.projects: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.dists: dict[str, bytes] = {}
        self.provenances: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def publish(
        self,
        project: str,
        version: str,
        files: dict[str, bytes],
        *,
        bundles: dict[str, list[dict[str, Any]]] | None = None,
        uploaded: str = "2026-03-19T18:22:00.000000Z",
    ) -> None:
        """Upload `files` as `version`; `bundles` are DSSE bundles per file (PEP 740)."""
        release = self.projects.setdefault(project, {}).setdefault(version, [])
        for name, data in files.items():
            self.dists[name] = data
            release.append(
                {
                    "filename": name,
                    "digests": {"sha256": sha256_hex(data), "md5": "0" * 32},
                    "size": len(data),
                    "url": f"{self.url}/packages/{name}",
                    "upload_time_iso_8601": uploaded,
                    "yanked": False,
                    "packagetype": "bdist_wheel" if name.endswith(".whl") else "sdist",
                }
            )
        for name, signed in (bundles or {}).items():
            key = (project, version, name)
            self.provenances[key] = [bundle_attestation(bundle) for bundle in signed]

    def _answer(self, raw_path: str, request_headers: Any) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        if path.startswith("/packages/") and (data := self.dists.get(path.rsplit("/", 1)[1])):
            if (injected := self._next_injected(path)) is not None:
                return injected.status, injected.headers, injected.body
            return 200, {"Content-Type": "application/octet-stream"}, data
        return super()._answer(raw_path, request_headers)

    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[Any, str] | None:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json":
            releases = self.projects.get(parts[1])
            if releases is None:
                return None
            return {"info": {"name": parts[1]}, "releases": releases, "urls": []}, ""
        if len(parts) == 5 and parts[0] == "integrity" and parts[4] == "provenance":
            attestations = self.provenances.get((parts[1], parts[2], parts[3]))
            if not attestations:
                return None
            publisher = {"kind": "GitHub", "repository": "owner/repo", "workflow": "release.yml"}
            bundles = [{"publisher": publisher, "attestations": attestations}]
            return {"version": 1, "attestation_bundles": bundles}, ""
        return None
