"""Plain URLs: a tool published at a templated URL (`url:https://…/{version}/…`).

There is no listing to poll: the versions watched are the tool's exact `versions`. Each costs one
conditional GET (`If-None-Match`, else `If-Modified-Since`); a changed file's body is hashed
while it arrives, so its digest is pinned like a GitHub asset's. Checksums files and bundles
are expected next to the file (same directory).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import orjson

from verifier.sources.errors import NotFound, UpstreamError
from verifier.sources.github import Cached, Listing, UpstreamAsset, UpstreamRelease
from verifier.sources.naming import render


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one conditional GET of a version's file found."""

    url: str
    size: int
    sha256: str
    etag: str | None
    last_modified: str | None


class UrlSource:
    """Conditional GETs of templated URLs over the shared client (no redirects followed:
    a plain URL that moves is reported, not chased)."""

    def __init__(self, client: httpx.Client, *, max_bytes: int) -> None:
        self.client = client
        self.max_bytes = max_bytes

    def releases(
        self,
        template: str,
        versions: tuple[str, ...],
        previous: Cached | None,
        sidecars: dict[str, list[str]],
    ) -> Listing[UpstreamRelease]:
        """One release per version whose file exists; `sidecars[version]`: names of files
        expected next to it (checksums, bundle). Changed if any file changed or appeared."""
        known: dict[str, Any] = orjson.loads(previous.body_json) if previous else {}
        seen: dict[str, Any] = {}
        changed = False
        for version in versions:
            url = render(template, tag=version)
            try:
                sighting = self._fetch(url, known.get(version))
            except NotFound:
                continue  # not published (yet)
            if sighting is None:
                seen[version] = known[version]
            else:
                seen[version] = asdict(sighting)
                changed = True
        changed |= set(seen) != set(known)
        items = tuple(_release(v, Sighting(**raw), sidecars.get(v, [])) for v, raw in seen.items())
        body = orjson.dumps(seen).decode()
        etag = hashlib.sha256(body.encode()).hexdigest()
        return Listing(template, changed, items, etag, body)

    def _fetch(self, url: str, stored: dict[str, Any] | None) -> Sighting | None:
        """The file as it is now, or None if unchanged (304); NotFound if not published."""
        headers = {"Accept-Encoding": "identity"}
        if stored and stored.get("etag"):
            headers["If-None-Match"] = stored["etag"]
        elif stored and stored.get("last_modified"):
            headers["If-Modified-Since"] = stored["last_modified"]
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304 and stored:
                    return None
                if response.status_code == 404:
                    raise NotFound(f"GET {url} answered 404")
                if response.status_code != 200:
                    raise UpstreamError(
                        f"GET {url} answered {response.status_code} {response.reason_phrase}: "
                        "expected 200 or 304"
                    )
                digest, size = hashlib.sha256(), 0
                for chunk in response.iter_raw():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UpstreamError(f"{url} exceeds the {self.max_bytes}-byte cap")
                    digest.update(chunk)
                return Sighting(
                    url,
                    size,
                    digest.hexdigest(),
                    response.headers.get("etag"),
                    response.headers.get("last-modified"),
                )
        except httpx.HTTPError as exc:
            raise UpstreamError(f"GET {url} failed: {type(exc).__name__}: {exc}") from exc


def _release(version: str, sighting: Sighting, sidecars: list[str]) -> UpstreamRelease:
    directory, _, name = sighting.url.rpartition("/")
    asset = UpstreamAsset(name, 0, sighting.size, f"sha256:{sighting.sha256}", sighting.url)
    # Size and digest of the files next to it are unknown until verification downloads them.
    others = tuple(UpstreamAsset(n, 0, 0, None, f"{directory}/{n}") for n in sidecars)
    return UpstreamRelease(
        tag=version, id=0, prerelease=False, created_at="", assets=(asset, *others)
    )
