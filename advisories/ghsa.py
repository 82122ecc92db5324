"""The GitHub global security advisories REST API (``GET /advisories``) mapped into the model.

Each REST advisory is rewritten as an OSV record and read by :func:`advisories.osv.parse_record`,
so validation, normalisation and repair notes are the same as for OSV files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import FetchError, ParseError
from .osv import ParsedRecord, ReadResult, parse_record

#: GitHub's ecosystem names → OSV ecosystem names.
GITHUB_ECOSYSTEMS = {
    "actions": "GitHub Actions",
    "composer": "Packagist",
    "erlang": "Hex",
    "go": "Go",
    "maven": "Maven",
    "npm": "npm",
    "nuget": "NuGet",
    "pip": "PyPI",
    "pub": "Pub",
    "rubygems": "RubyGems",
    "rust": "crates.io",
    "swift": "SwiftURL",
}
DEFAULT_BASE_URL = "https://api.github.com"
_CONSTRAINT = re.compile(r"^\s*(>=|<=|>|<|=)?\s*(\S+)\s*$")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


def range_events(
    spec: str | None, origin: str = "", record_id: str | None = None
) -> list[dict[str, str]]:
    """OSV events for GitHub's ``vulnerable_version_range``.

    ``>= 0.69.4, < 0.69.5`` → introduced 0.69.4, fixed 0.69.5; ``< 1.2.3`` → introduced 0, fixed
    1.2.3; ``<= 1.2.3`` → last_affected; ``= 0.69.4`` → exactly that version. An exclusive lower
    bound ``> x`` cannot be written in OSV and is widened to ``>= x`` (fail closed).
    """
    lower, upper = {"introduced": "0"}, None
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        m = _CONSTRAINT.match(part)
        if m is None:
            raise ParseError(
                f"cannot read version range {spec!r}", origin=origin, record_id=record_id
            )
        operator, version = m[1] or "=", m[2]
        if operator in (">=", ">"):
            lower = {"introduced": version}
        elif operator == "<":
            upper = {"fixed": version}
        elif operator == "<=":
            upper = {"last_affected": version}
        else:
            lower, upper = {"introduced": version}, {"last_affected": version}
    return [lower] if upper is None else [lower, upper]


def to_osv(advisory: dict[str, Any], origin: str = "") -> dict[str, Any]:
    """An OSV record equivalent to one REST advisory; raises :class:`ParseError`."""
    ghsa_id = advisory.get("ghsa_id")
    if not isinstance(ghsa_id, str) or not ghsa_id:
        raise ParseError("advisory without 'ghsa_id'", origin=origin)
    affected = []
    for vuln in advisory.get("vulnerabilities") or []:
        package = (vuln or {}).get("package") or {}
        ecosystem = GITHUB_ECOSYSTEMS.get(str(package.get("ecosystem", "")).lower())
        if ecosystem is None:
            reason = f"unknown GitHub ecosystem {package.get('ecosystem')!r}"
            raise ParseError(reason, origin=origin, record_id=ghsa_id)
        events = range_events(vuln.get("vulnerable_version_range"), origin, ghsa_id)
        affected.append(
            {
                "package": {"ecosystem": ecosystem, "name": package.get("name")},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "database_specific": {
                    "vulnerable_version_range": vuln.get("vulnerable_version_range"),
                    "first_patched_version": vuln.get("first_patched_version"),
                },
            }
        )
    identifiers = [i.get("value") for i in advisory.get("identifiers") or [] if isinstance(i, dict)]
    aliases = [
        a for a in [advisory.get("cve_id"), *identifiers] if isinstance(a, str) and a != ghsa_id
    ]
    severity = []
    for key, kind in (("cvss_v3", "CVSS_V3"), ("cvss_v4", "CVSS_V4")):
        vector = ((advisory.get("cvss_severities") or {}).get(key) or {}).get("vector_string")
        if vector:
            severity.append({"type": kind, "score": vector})
    legacy = (advisory.get("cvss") or {}).get("vector_string")
    if legacy and not any(s["score"] == legacy for s in severity):
        severity.append(
            {"type": "CVSS_V3" if legacy.startswith("CVSS:3") else "CVSS_V4", "score": legacy}
        )
    label = advisory.get("severity")
    return {
        "id": ghsa_id,
        "modified": advisory.get("updated_at"),
        "published": advisory.get("published_at"),
        "withdrawn": advisory.get("withdrawn_at"),
        "aliases": list(dict.fromkeys(aliases)),
        "summary": advisory.get("summary"),
        "details": advisory.get("description"),
        "severity": severity,
        "affected": affected,
        "references": [{"type": "WEB", "url": u} for u in advisory.get("references") or []],
        "database_specific": {
            "severity": "MODERATE" if label == "medium" else (label or "").upper() or None,
            "cwe_ids": [c.get("cwe_id") for c in advisory.get("cwes") or [] if isinstance(c, dict)],
            "github_type": advisory.get("type"),
            "malicious": advisory.get("type") == "malware" or None,
            "source_code_location": advisory.get("source_code_location"),
        },
    }


def parse_advisory(advisory: Any, *, source: str, origin: str = "") -> ReadResult:
    """One REST advisory as a read result (never raises for bad data)."""
    record_id = advisory.get("ghsa_id") if isinstance(advisory, dict) else None
    try:
        if not isinstance(advisory, dict):
            raise ParseError("advisory is not an object", origin=origin)
        document = _prune(to_osv(advisory, origin))
        return ParsedRecord(origin, parse_record(document, source=source, origin=origin), document)
    except ParseError as exc:
        return ParseError(exc.reason, origin=origin, record_id=exc.record_id or record_id).skipped()


def _prune(record: dict[str, Any]) -> dict[str, Any]:
    db = {k: v for k, v in record["database_specific"].items() if v not in (None, [], "")}
    return {**record, "database_specific": db or None}


@dataclass(frozen=True, slots=True)
class GhsaPage:
    """One fetched page: its results, and the URL of the next page if any."""

    results: tuple[ReadResult, ...]
    next_url: str | None
    etag: str | None


class GhsaClient:
    """``GET /advisories`` with filters, Link-header pagination, ETag and a bearer token."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        per_page: int = 100,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._per_page = per_page
        self._headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def pages(
        self,
        *,
        source: str,
        ecosystem: str | None = None,
        affects: str | None = None,
        modified_since: str | None = None,
        etag: str | None = None,
    ) -> Iterator[GhsaPage]:
        """Pages of reviewed advisories, oldest update first; nothing when the first page
        answers 304 to ``etag``. Raises :class:`FetchError` on HTTP errors."""
        params: dict[str, str | int] = {
            "per_page": self._per_page,
            "sort": "updated",
            "direction": "asc",
        }
        if ecosystem:
            params["ecosystem"] = ecosystem
        if affects:
            params["affects"] = affects
        if modified_since:
            params["modified"] = f">={modified_since}"
        url: str | None = f"{self._base}/advisories"
        first = True
        while url is not None:
            headers = dict(self._headers)
            if first and etag:
                headers["If-None-Match"] = etag
            response = _get(self._client, url, headers, params if first else None)
            if response.status_code == 304:
                return
            body = _json(response)
            if not isinstance(body, list):
                raise FetchError(f"GET {response.url}: expected a JSON list of advisories")
            results = tuple(
                parse_advisory(a, source=source, origin=str(response.url)) for a in body
            )
            url = next_link(response.headers.get("Link"))
            yield GhsaPage(results, url, response.headers.get("ETag") if first else None)
            first = False


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a Link header."""
    m = _NEXT.search(header or "")
    return m[1] if m else None


def _get(
    client: httpx.Client, url: str, headers: dict[str, str], params: dict[str, Any] | None
) -> httpx.Response:
    try:
        response = client.get(url, headers=headers, params=params)
    except httpx.HTTPError as exc:
        raise FetchError(f"GET {url}: {exc}") from exc
    if response.status_code not in (200, 304):
        detail = response.text[:200].replace("\n", " ")
        if response.headers.get("X-RateLimit-Remaining") == "0":
            reset = response.headers.get("X-RateLimit-Reset", "?")
            detail = f"rate limit exhausted until epoch {reset}; {detail}"
        raise FetchError(
            f"GET {response.url}: HTTP {response.status_code}: {detail}", response.status_code
        )
    return response


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise FetchError(f"GET {response.url}: invalid JSON: {exc}") from exc
