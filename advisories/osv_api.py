"""The online OSV API (``/v1/querybatch``, ``/v1/vulns/{id}``) as an advisory source."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import FetchError, ParseError, SkippedRecord
from .osv import ParsedRecord, ReadResult, parse_record

DEFAULT_BASE_URL = "https://api.osv.dev"
_BATCH = 1000  # the API's limit of queries per querybatch call


@dataclass(frozen=True, slots=True)
class PackageQuery:
    """A package to ask about; without a version, every advisory of the package."""

    ecosystem: str
    name: str
    version: str | None = None

    def body(self) -> dict[str, Any]:
        query: dict[str, Any] = {"package": {"ecosystem": self.ecosystem, "name": self.name}}
        if self.version:
            query["version"] = self.version
        return query


@dataclass(frozen=True, slots=True)
class VulnRef:
    """An id and its modification time, as querybatch answers."""

    id: str
    modified: str | None


class OsvApiClient:
    """Thin client over an ``httpx.Client`` the caller owns (timeouts, proxies, transport)."""

    def __init__(self, client: httpx.Client, *, base_url: str = DEFAULT_BASE_URL) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self._base}{path}"
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise FetchError(f"{method} {url}: {exc}") from exc
        if response.status_code != 200:
            detail = response.text[:200].replace("\n", " ")
            raise FetchError(
                f"{method} {url}: HTTP {response.status_code}: {detail}", response.status_code
            )
        try:
            return response.json()
        except ValueError as exc:
            raise FetchError(f"{method} {url}: invalid JSON: {exc}") from exc

    def query_batch(self, queries: Sequence[PackageQuery]) -> list[list[VulnRef]]:
        """Advisory ids per query, following each result's ``next_page_token``."""
        answers: list[list[VulnRef]] = []
        for start in range(0, len(queries), _BATCH):
            answers.extend(self._query_chunk(list(queries[start : start + _BATCH])))
        return answers

    def _query_chunk(self, queries: list[PackageQuery]) -> list[list[VulnRef]]:
        answers: list[list[VulnRef]] = [[] for _ in queries]
        pending = [(i, q.body()) for i, q in enumerate(queries)]
        while pending:
            body = self._request(
                "POST", "/v1/querybatch", json={"queries": [q for _, q in pending]}
            )
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list) or len(results) != len(pending):
                raise FetchError("POST /v1/querybatch: answer does not have one result per query")
            follow = []
            for (index, query), result in zip(pending, results, strict=True):
                for vuln in (result or {}).get("vulns") or []:
                    if isinstance(vuln, dict) and isinstance(vuln.get("id"), str):
                        answers[index].append(VulnRef(vuln["id"], vuln.get("modified")))
                token = (result or {}).get("next_page_token")
                if token:
                    follow.append((index, {**query, "page_token": token}))
            pending = follow
        return answers

    def get(self, advisory_id: str, *, source: str) -> ReadResult:
        """One advisory by id as a read result (a bad record is a skipped report)."""
        origin = f"{self._base}/v1/vulns/{advisory_id}"
        data = self._request("GET", f"/v1/vulns/{advisory_id}")
        try:
            return ParsedRecord(origin, parse_record(data, source=source, origin=origin), data)
        except ParseError as exc:
            return exc.skipped()

    def fetch(self, ids: Iterable[str], *, source: str) -> Iterator[ReadResult]:
        """:meth:`get` for each id; an id the API does not know (404) is reported, other
        failures raise :class:`FetchError`."""
        for advisory_id in ids:
            try:
                yield self.get(advisory_id, source=source)
            except FetchError as exc:
                if exc.status != 404:
                    raise
                yield SkippedRecord(f"{self._base}/v1/vulns/{advisory_id}", advisory_id, str(exc))
