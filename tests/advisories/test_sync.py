"""Per-feed sync against real loopback servers: cursors, ETags, counts, failures."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from advisories import (
    FeedSpec,
    FeedSpecError,
    FetchError,
    OsvApiClient,
    PackageQuery,
    feed_states,
    load_index,
    sync_feed,
)
from advisories.store import feed_hits

from .conftest import FEED_FIXTURES, OSV_FIXTURES
from .loopback import Request, Response, serve
from .test_feeds import TRIVY_FEED
from .test_ghsa import CRITTERS, DIO, github_api, incident
from .test_kev import KEV_SLICE

NOW = datetime(2026, 3, 22, 12, 0, tzinfo=UTC)


def static(body: bytes, etag: str, content_type: str = "application/octet-stream"):
    """Serve one document with an ETag, answering 304 to If-None-Match."""

    def handler(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(304, headers={"ETag": etag})
        return Response(200, body, {"ETag": etag, "Content-Type": content_type})

    return handler


@pytest.fixture
def http() -> httpx.Client:
    with httpx.Client(timeout=5) as client:
        yield client


def test_osv_zip_by_url_with_etag(engine: sa.Engine, http: httpx.Client, tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(OSV_FIXTURES.glob("go-vulndb/*.json")):
            zf.write(path, path.name)
    with serve(static(archive.read_bytes(), '"zip-1"')) as server:
        spec = FeedSpec("go-vulndb", "osv-zip", url=f"{server.url}/Go/all.zip")
        first = sync_feed(engine, spec, http, now=NOW)
        assert (first.new, first.updated, first.unchanged, first.skipped) == (14, 0, 0, ())
        second = sync_feed(engine, spec, http, now=NOW)
        assert second.not_modified and second.new == 0
        assert server.requests[1].headers["if-none-match"] == '"zip-1"'
    (state,) = feed_states(engine)
    assert (state.feed, state.etag, state.last_success_at, state.last_error) == (
        "go-vulndb", '"zip-1"', NOW, None,
    )  # fmt: skip
    assert load_index(engine).match("Go", "github.com/aquasecurity/trivy", "v0.51.1")


def test_osv_directory_by_path(engine: sa.Engine) -> None:
    spec = FeedSpec("pypa", "osv", path=str(OSV_FIXTURES / "pypa"))
    assert sync_feed(engine, spec, now=NOW).new == 13
    again = sync_feed(engine, spec, now=NOW)
    assert (again.new, again.unchanged) == (0, 13)


def test_ghsa_cursor_and_etag(engine: sa.Engine, http: httpx.Client) -> None:
    trivy = incident(
        "GHSA-69fq-xp46-6x23",
        "go",
        "github.com/aquasecurity/trivy",
        "= 0.69.4",
        "2026-03-21T00:00:00Z",
    )
    with serve(github_api([[DIO, CRITTERS], [trivy]])) as server:
        spec = FeedSpec("ghsa", "ghsa", url=server.url, ecosystem="go")
        report = sync_feed(engine, spec, http, token="secret-token", now=NOW)
        assert (report.new, report.cursor) == (3, "2026-03-21T00:00:00Z")
        again = sync_feed(engine, spec, http, token="secret-token", now=NOW)
        assert again.not_modified
        assert server.requests[-1].query["modified"] == [">=2026-03-21T00:00:00Z"]
        with pytest.raises(FetchError, match="HTTP 401"):
            sync_feed(engine, spec, http, token="expired", now=NOW)
    (state,) = feed_states(engine)
    assert state.cursor == "2026-03-21T00:00:00Z" and state.last_success_at == NOW
    assert "HTTP 401" in state.last_error  # the failure is recorded, the cursor kept
    (match,) = load_index(engine).match("Go", "github.com/aquasecurity/trivy", "0.69.4")
    assert match.malicious and match.group_id == "CVE-2026-33634"


def osv_api_handler(records: dict[str, bytes]):
    """/v1/querybatch answering every query with all records (two pages), /v1/vulns/{id}."""

    def handler(request: Request) -> Response:
        if request.method == "POST" and request.path == "/v1/querybatch":
            queries = json.loads(request.body)["queries"]
            results = []
            for query in queries:
                ids = sorted(records)
                page = ids[1:] if query.get("page_token") else ids[:1]
                result = {
                    "vulns": [
                        {"id": i, "modified": json.loads(records[i])["modified"]} for i in page
                    ]
                }
                if not query.get("page_token"):
                    result["next_page_token"] = "page-2"
                results.append(result)
            return Response(200, json.dumps({"results": results}).encode())
        advisory_id = request.path.removeprefix("/v1/vulns/")
        if advisory_id in records:
            return Response(200, records[advisory_id])
        return Response(404, b'{"code": 5, "message": "Bug not found."}')

    return handler


def test_osv_api_fetches_only_what_changed(engine: sa.Engine, http: httpx.Client) -> None:
    records = {p.stem: p.read_bytes() for p in OSV_FIXTURES.glob("go-vulndb/GO-202[56]-*.json")}
    records["GO-2099-0001"] = records["GO-2026-4354"].replace(b"GO-2026-4354", b"GO-2099-0001")
    records["GO-2099-0002"] = (
        b'{"id": "GO-2099-0002", "modified": "2026-01-01T00:00:00Z", "affected": 1}'
    )
    with serve(osv_api_handler(records)) as server:
        spec = FeedSpec(
            "osv-api", "osv-api", url=server.url, packages=(("Go", "github.com/sigstore/rekor"),)
        )
        report = sync_feed(engine, spec, http, now=NOW)
        assert (report.new, [s.record_id for s in report.skipped]) == (
            len(records) - 1,
            ["GO-2099-0002"],
        )
        fetched = sum(r.method == "GET" for r in server.requests)
        again = sync_feed(engine, spec, http, now=NOW)
        assert again.new == 0 and again.unchanged == len(records) - 1
        # Only the record that failed to parse is fetched again.
        assert sum(r.method == "GET" for r in server.requests) == fetched + 1


def test_rss_hits_are_stored_once(engine: sa.Engine, http: httpx.Client, tmp_path: Path) -> None:
    tools = {"trivy": ("trivy",)}
    with serve(static(TRIVY_FEED, '"rss-1"', "application/rss+xml")) as server:
        spec = FeedSpec("blog", "rss", url=server.url, tools=tools)
        report = sync_feed(engine, spec, http, now=NOW)
        assert report.new_hits == 1 and report.hits[0].version_hints[0] == "0.69.4"
        assert sync_feed(engine, spec, http, now=NOW).not_modified
    local = tmp_path / "blog.xml"
    local.write_bytes(TRIVY_FEED)
    again = sync_feed(engine, FeedSpec("blog", "rss", path=str(local), tools=tools), now=NOW)
    assert again.new_hits == 0 and len(again.hits) == 1
    ((stored, first_seen),) = feed_hits(engine, "blog")
    assert stored.tool == "trivy" and stored.pattern == "trivy" and first_seen == NOW


def test_kev_feed_marks_matches(engine: sa.Engine, http: httpx.Client, tmp_path: Path) -> None:
    rec = tmp_path / "tj.json"
    events = [{"introduced": "0"}, {"fixed": "46.0.1"}]
    package = {"ecosystem": "GitHub Actions", "name": "tj-actions/changed-files"}
    record = {
        "id": "GHSA-mrrh-fwg8-r2c3",
        "modified": "2025-03-20T00:00:00Z",
        "aliases": ["CVE-2025-30066"],
        "affected": [{"package": package, "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
    }
    rec.write_text(json.dumps(record))
    sync_feed(engine, FeedSpec("local", "osv", path=str(rec)), now=NOW)
    with serve(static(KEV_SLICE.read_bytes(), '"kev"', "application/json")) as server:
        report = sync_feed(engine, FeedSpec("kev", "kev", url=server.url), http, now=NOW)
    assert report.kev_entries == 28
    (match,) = load_index(engine).match("GitHub Actions", "tj-actions/changed-files", "v45")
    assert match.known_exploited and match.severity == "CRITICAL"


def test_unreachable_source_records_the_error(engine: sa.Engine, http: httpx.Client) -> None:
    spec = FeedSpec("gone", "kev", url="http://127.0.0.1:9/kev.json")
    with pytest.raises(FetchError):
        sync_feed(engine, spec, http, now=NOW)
    (state,) = feed_states(engine)
    assert state.last_attempt_at == NOW and state.last_success_at is None and state.last_error
    with pytest.raises(FetchError, match="cannot read"):
        sync_feed(engine, FeedSpec("missing", "kev", path="/nonexistent/kev.json"), now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "nope"}, "is not one of"),
        ({"type": "osv"}, "needs a url or a path"),
        ({"type": "osv", "url": "http://x", "path": "/x"}, "not both"),
        ({"type": "ghsa", "path": "/x"}, "online only"),
        ({"type": "osv-api"}, "needs packages"),
        ({"type": "rss", "path": "/x"}, "needs tool patterns"),
    ],
)
def test_feed_spec_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(FeedSpecError, match=message):
        FeedSpec("f", **kwargs)  # type: ignore[arg-type]


def test_online_feed_without_client(engine: sa.Engine) -> None:
    with pytest.raises(FeedSpecError, match="HTTP client is needed"):
        sync_feed(engine, FeedSpec("k", "kev", url="http://127.0.0.1:9/k"), now=NOW)
    assert FEED_FIXTURES.exists()


def test_osv_api_client_unknown_ids_and_server_errors(http: httpx.Client) -> None:
    records = {"GO-2024-2870": (OSV_FIXTURES / "go-vulndb" / "GO-2024-2870.json").read_bytes()}
    with serve(osv_api_handler(records)) as server:
        api = OsvApiClient(http, base_url=server.url)
        (refs,) = api.query_batch([PackageQuery("Go", "github.com/aquasecurity/trivy", "v0.51.1")])
        assert [r.id for r in refs] == ["GO-2024-2870"]
        assert json.loads(server.requests[0].body)["queries"][0]["version"] == "v0.51.1"
        results = list(api.fetch(["GO-2024-2870", "GO-0000-0000"], source="osv-api"))
        assert results[0].advisory.id == "GO-2024-2870"
        assert results[1].record_id == "GO-0000-0000" and "HTTP 404" in results[1].reason
    with (
        serve(lambda request: Response(503, b"maintenance")) as server,
        pytest.raises(FetchError, match="HTTP 503"),
    ):
        list(OsvApiClient(http, base_url=server.url).fetch(["GO-1"], source="osv-api"))
