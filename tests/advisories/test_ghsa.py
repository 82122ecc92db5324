"""GitHub global advisories REST API: range mapping and a paginated, ETag'd loopback server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from advisories import AdvisoryIndex, FetchError, ParsedRecord, SkippedRecord
from advisories.ghsa import GhsaClient, next_link, parse_advisory, range_events

from .conftest import GITHUB_FIXTURES
from .loopback import Request, Response, serve


def rest_fixture(name: str) -> list[dict[str, Any]]:
    body = json.loads((GITHUB_FIXTURES / "releases-api" / name).read_text())["body"]
    return body if isinstance(body, list) else [body]


MAX_IMPACT = "AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
DIO = rest_fixture("global_advisories_by_ghsa.json")[0]
CRITTERS = rest_fixture("global_advisory_GHSA-cx3j-qqxj-9597.json")[0]


def incident(ghsa_id: str, ecosystem: str, name: str, spec: str, updated: str) -> dict[str, Any]:
    """A REST advisory shaped like the fixtures (same keys), for the Trivy incident."""
    return {
        **CRITTERS,
        "ghsa_id": ghsa_id,
        "cve_id": "CVE-2026-33634",
        "identifiers": [
            {"value": ghsa_id, "type": "GHSA"},
            {"value": "CVE-2026-33634", "type": "CVE"},
        ],
        "summary": "Trivy release artifacts and trivy-action tags were compromised",
        "type": "malware",
        "severity": "critical",
        "updated_at": updated,
        "cwes": [{"cwe_id": "CWE-506", "name": "Embedded Malicious Code"}],
        "cvss_severities": {
            "cvss_v3": {"vector_string": f"CVSS:3.1/{MAX_IMPACT}", "score": 10.0},
            "cvss_v4": {"vector_string": None, "score": 0.0},
        },
        "vulnerabilities": [
            {"package": {"ecosystem": ecosystem, "name": name}, "vulnerable_version_range": spec,
             "first_patched_version": None, "vulnerable_functions": []},
        ],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "events"),
    [
        (">= 0.69.4, < 0.69.5", [{"introduced": "0.69.4"}, {"fixed": "0.69.5"}]),
        ("< 1.2.3", [{"introduced": "0"}, {"fixed": "1.2.3"}]),
        ("<= 0.34.2", [{"introduced": "0"}, {"last_affected": "0.34.2"}]),
        ("= 0.69.4", [{"introduced": "0.69.4"}, {"last_affected": "0.69.4"}]),
        (">= 0.0.17, <= 0.0.19", [{"introduced": "0.0.17"}, {"last_affected": "0.0.19"}]),
        ("> 1.0", [{"introduced": "1.0"}]),  # widened: OSV has no exclusive lower bound
        (">= 2.0.0", [{"introduced": "2.0.0"}]),
        ("", [{"introduced": "0"}]),
        (None, [{"introduced": "0"}]),
    ],
)
def test_vulnerable_version_ranges(spec: str | None, events: list[dict[str, str]]) -> None:
    assert range_events(spec) == events


def test_fixture_advisories_map_into_the_model() -> None:
    dio = parse_advisory(DIO, source="ghsa")
    assert isinstance(dio, ParsedRecord)
    a = dio.advisory
    assert (a.id, a.aliases, a.severity_label, a.cvss_score) == (
        "GHSA-9324-jv53-9cc8", ("CVE-2021-31402",), "HIGH", 7.5,
    )  # fmt: skip
    assert (a.affected[0].ecosystem, a.affected[0].package) == ("Pub", "dio")
    assert a.cwe_ids == ("CWE-74", "CWE-88", "CWE-93")
    critters = parse_advisory(CRITTERS, source="ghsa").advisory
    index = AdvisoryIndex([a, critters])
    assert index.match("Pub", "dio", "4.0.0") and not index.match("Pub", "dio", "5.0.0")
    for version, hit in [("0.0.16", False), ("0.0.17", True), ("0.0.19", True), ("0.0.20", False)]:
        assert bool(index.match("npm", "critters", version)) is hit, version


@pytest.mark.parametrize(
    ("ecosystem", "expected"),
    [("go", "Go"), ("pip", "PyPI"), ("actions", "GitHub Actions"), ("maven", "Maven"),
     ("rust", "crates.io"), ("npm", "npm"), ("rubygems", "RubyGems"), ("composer", "Packagist")],
)  # fmt: skip
def test_github_ecosystem_names(ecosystem: str, expected: str) -> None:
    version = "1.0.0"
    rest = incident(
        "GHSA-aaaa-bbbb-cccc", ecosystem, "pkg/name", f"< {version}", "2026-03-20T00:00:00Z"
    )
    assert parse_advisory(rest, source="ghsa").advisory.affected[0].ecosystem == expected


def test_bad_rest_advisories_are_skipped() -> None:
    other = parse_advisory(
        {
            **DIO,
            "vulnerabilities": [
                {**DIO["vulnerabilities"][0], "package": {"ecosystem": "other", "name": "x"}}
            ],
        },
        source="g",
    )
    assert isinstance(other, SkippedRecord) and other.record_id == "GHSA-9324-jv53-9cc8"
    assert "unknown GitHub ecosystem 'other'" in other.reason
    bad_range = {
        **DIO,
        "vulnerabilities": [{**DIO["vulnerabilities"][0], "vulnerable_version_range": "< banana"}],
    }
    # Kept, never dropped: the matcher reports its range as unevaluated (see test_match).
    kept = parse_advisory(bad_range, source="g")
    assert isinstance(kept, ParsedRecord)
    assert any("'banana' is not a valid Pub version" in note for note in kept.advisory.notes)
    assert isinstance(parse_advisory([], source="g"), SkippedRecord)
    assert isinstance(parse_advisory({**DIO, "updated_at": None}, source="g"), SkippedRecord)


def test_link_header() -> None:
    url = "https://api.github.com/advisories?after=Y3Vyc29y&per_page=2"
    assert next_link(f'<{url}>; rel="next", <https://x>; rel="prev"') == url
    assert next_link(None) is None


def github_api(pages: list[list[dict[str, Any]]], etag: str = 'W/"page1"'):
    """A handler serving ``pages`` like GitHub: cursor pagination in Link, ETag on page one."""

    def handler(request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer secret-token":
            return Response(401, b'{"message": "Bad credentials"}')
        after = request.query.get("after", ["0"])[0]
        page = int(after)
        if page == 0 and request.headers.get("if-none-match") == etag:
            return Response(304, headers={"ETag": etag})
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if page == 0:
            headers["ETag"] = etag
        if page + 1 < len(pages):
            base = f"http://{request.headers['host']}/advisories"
            headers["Link"] = f'<{base}?after={page + 1}&per_page=2>; rel="next"'
        return Response(200, json.dumps(pages[page]).encode(), headers)

    return handler


def test_client_follows_pages_sends_token_filters_and_etag() -> None:
    pages = [
        [DIO, CRITTERS],
        [
            incident(
                "GHSA-69fq-xp46-6x23",
                "go",
                "github.com/aquasecurity/trivy",
                "= 0.69.4",
                "2026-03-21T00:00:00Z",
            )
        ],
    ]
    with serve(github_api(pages)) as server, httpx.Client(timeout=5) as http:
        client = GhsaClient(http, token="secret-token", base_url=server.url, per_page=2)
        fetched = list(
            client.pages(source="ghsa", ecosystem="go", modified_since="2026-03-01T00:00:00Z")
        )
        assert [len(p.results) for p in fetched] == [2, 1] and fetched[0].etag == 'W/"page1"'
        first = server.requests[0]
        assert first.query["ecosystem"] == ["go"] and first.query["modified"] == [
            ">=2026-03-01T00:00:00Z"
        ]
        assert first.headers["accept"] == "application/vnd.github+json"
        trivy = fetched[1].results[0].advisory
        assert trivy.malicious and trivy.effective_severity == "CRITICAL"
        index = AdvisoryIndex([trivy])
        assert index.match("Go", "github.com/aquasecurity/trivy", "v0.69.4")
        assert not index.match("Go", "github.com/aquasecurity/trivy", "v0.69.5")
        assert list(client.pages(source="ghsa", etag='W/"page1"')) == []  # 304


def test_client_errors_raise_fetch_error() -> None:
    with serve(github_api([[DIO]])) as server, httpx.Client(timeout=5) as http:
        with pytest.raises(FetchError, match="HTTP 401") as info:
            list(GhsaClient(http, token="wrong", base_url=server.url).pages(source="ghsa"))
        assert info.value.status == 401
    with httpx.Client(timeout=1) as http, pytest.raises(FetchError):
        list(GhsaClient(http, base_url="http://127.0.0.1:9").pages(source="ghsa"))


def test_rate_limit_is_named() -> None:
    def limited(request: Request) -> Response:
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1774000000"}
        return Response(403, b'{"message": "API rate limit exceeded"}', headers)

    with (
        serve(limited) as server,
        httpx.Client(timeout=5) as http,
        pytest.raises(FetchError, match="rate limit exhausted until epoch 1774000000"),
    ):
        list(GhsaClient(http, base_url=server.url).pages(source="ghsa"))
