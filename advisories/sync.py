"""Per-feed incremental sync: fetch (ETag, cursor), ingest, record the feed's state.

One function, :func:`sync_feed`, serves every feed type of the daemon's ``[[feed]]`` tables.
The feed's state row records every attempt; a failure is stored in ``last_error`` and raised.
A sync fails when the source cannot be fetched, when a document of it cannot be read at all
(corrupt, too deep, over a size limit: the records that could be read are kept), and on any
unexpected error (raised as :class:`SyncFailed`, naming the feed).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from . import ghsa, osv_api
from .errors import AdvisoryError, FeedSpecError, FetchError, ParseError, SkippedRecord, SyncFailed
from .feeds import MAX_FEED_BYTES, FeedHit, scan_feed
from .ingest import ImportReport, ingest
from .kev import parse_kev
from .osv import MAX_RECORD_BYTES, ParsedRecord, ReadResult, read_bytes, read_path
from .store import (
    FeedState,
    get_feed_state,
    replace_kev,
    save_feed_hits,
    save_feed_state,
    stored_versions,
)

FeedType = Literal["osv", "osv-zip", "osv-api", "ghsa", "rss", "kev"]
FEED_TYPES: tuple[str, ...] = ("osv", "osv-zip", "osv-api", "ghsa", "rss", "kev")
#: Largest document downloaded for one sync (a whole-ecosystem OSV zip is a few hundred MB).
MAX_DOWNLOAD_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One configured feed.

    ``url`` or ``path`` says where (``osv-api`` and ``ghsa`` take an optional base ``url``);
    ``ecosystem``/``affects`` filter ``ghsa`` (GitHub's names, e.g. ``go``, ``actions``);
    ``packages`` lists (ecosystem, name) for ``osv-api``; ``tools`` maps tool names to
    patterns for ``rss``.
    """

    name: str
    type: FeedType
    url: str | None = None
    path: str | None = None
    ecosystem: str | None = None
    affects: str | None = None
    packages: tuple[tuple[str, str], ...] = ()
    tools: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in FEED_TYPES:
            raise FeedSpecError(
                f"feed {self.name!r}: type {self.type!r} is not one of {FEED_TYPES}"
            )
        if self.url and self.path:
            raise FeedSpecError(f"feed {self.name!r}: give url or path, not both")
        if self.type in ("osv", "osv-zip", "rss", "kev") and not (self.url or self.path):
            raise FeedSpecError(f"feed {self.name!r}: type {self.type!r} needs a url or a path")
        if self.type in ("osv-api", "ghsa") and self.path:
            raise FeedSpecError(f"feed {self.name!r}: type {self.type!r} is online only (url)")
        if self.type == "osv-api" and not self.packages:
            raise FeedSpecError(f"feed {self.name!r}: osv-api needs packages to ask about")
        if self.type == "rss" and not self.tools:
            raise FeedSpecError(f"feed {self.name!r}: rss needs tool patterns")


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync did. ``not_modified``: the source answered 304 to our ETag."""

    feed: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: tuple[SkippedRecord, ...] = ()
    not_modified: bool = False
    hits: tuple[FeedHit, ...] = ()
    new_hits: int = 0
    kev_entries: int = 0
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class _Outcome:
    report: SyncReport
    cursor: str | None
    etag: str | None


def sync_feed(
    engine: sa.Engine,
    spec: FeedSpec,
    client: httpx.Client | None = None,
    *,
    token: str | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """Sync one feed into the store; raises :class:`FetchError` (after recording it) when the
    source cannot be read. ``client`` is needed for every online feed; ``token`` is GitHub's."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        state = get_feed_state(conn, spec.name)
    try:
        outcome = _SYNCERS[spec.type](_Context(engine, spec, client, state, token, now))
        unreadable = [s for s in outcome.report.skipped if s.unreadable]
        if unreadable:
            more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
            raise ParseError(f"{unreadable[0]}{more}")
    except sa.exc.SQLAlchemyError:
        raise  # the store's failure, not the feed's
    except Exception as exc:
        error = exc if isinstance(exc, AdvisoryError) else SyncFailed(spec.name, exc)
        failed = FeedState(
            spec.name, state.cursor, state.etag, now, state.last_success_at, str(error)
        )
        with engine.begin() as conn:
            save_feed_state(conn, failed)
        if error is exc:
            raise
        raise error from exc
    with engine.begin() as conn:
        save_feed_state(conn, FeedState(spec.name, outcome.cursor, outcome.etag, now, now, None))
    return outcome.report


def _report(spec: FeedSpec, imported: ImportReport, cursor: str | None = None) -> SyncReport:
    return SyncReport(
        spec.name,
        imported.new,
        imported.updated,
        imported.unchanged,
        imported.skipped,
        cursor=cursor,
    )


def _download(
    client: httpx.Client, url: str, etag: str | None, sink: Callable[[bytes], None], limit: int
) -> tuple[bool, str | None]:
    """Stream ``url`` into ``sink``; (False, etag) on 304. Raises FetchError past ``limit``."""
    headers = {"If-None-Match": etag} if etag else {}
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return False, etag
            if response.status_code != 200:
                raise FetchError(f"GET {url}: HTTP {response.status_code}", response.status_code)
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"GET {url}: larger than the {limit}-byte limit")
                sink(chunk)
            return True, response.headers.get("ETag")
    except httpx.HTTPError as exc:
        raise FetchError(f"GET {url}: {exc}") from exc


def _fetch_bytes(ctx: _Context, limit: int) -> tuple[bytes | None, str | None]:
    """The document of a url/path feed, or None when the server says it has not changed."""
    if ctx.spec.path:
        path = Path(ctx.spec.path)
        try:
            if path.stat().st_size > limit:
                raise FetchError(f"{path}: larger than the {limit}-byte limit")
            return path.read_bytes(), None
        except OSError as exc:
            raise FetchError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    parts: list[bytes] = []
    changed, etag = _download(ctx.http, ctx.spec.url or "", ctx.state.etag, parts.append, limit)
    return (b"".join(parts) if changed else None), etag


@dataclass(frozen=True, slots=True)
class _Context:
    engine: sa.Engine
    spec: FeedSpec
    client: httpx.Client | None
    state: FeedState
    token: str | None
    now: datetime

    @property
    def http(self) -> httpx.Client:
        if self.client is None:
            raise FeedSpecError(f"feed {self.spec.name!r}: an HTTP client is needed")
        return self.client

    def ingest(self, results: Iterable[ReadResult]) -> ImportReport:
        return ingest(self.engine, results, now=self.now)

    def unchanged(self, etag: str | None) -> _Outcome:
        report = SyncReport(self.spec.name, not_modified=True, cursor=self.state.cursor)
        return _Outcome(report, self.state.cursor, etag)


def _sync_osv(ctx: _Context) -> _Outcome:
    spec = ctx.spec
    if spec.path:
        imported = ctx.ingest(read_path(Path(spec.path), source=spec.name))
        return _Outcome(_report(spec, imported), None, None)
    raw, etag = _fetch_bytes(ctx, MAX_RECORD_BYTES * 16)
    if raw is None:
        return ctx.unchanged(etag)
    suffix = PurePosixPath(urlsplit(spec.url or "").path).suffix.lower()
    kind = suffix if suffix in (".yaml", ".yml") else ".json"
    imported = ctx.ingest(read_bytes(raw, kind, source=spec.name, origin=spec.url or ""))
    return _Outcome(_report(spec, imported), None, etag)


def _sync_osv_zip(ctx: _Context) -> _Outcome:
    spec = ctx.spec
    if spec.path:
        return _sync_osv(ctx)
    with tempfile.TemporaryDirectory(prefix="advisories-") as tmp:
        archive = Path(tmp) / "all.zip"
        with archive.open("wb") as handle:
            changed, etag = _download(
                ctx.http, spec.url or "", ctx.state.etag, handle.write, MAX_DOWNLOAD_BYTES
            )
        if not changed:
            return ctx.unchanged(etag)
        imported = ctx.ingest(read_path(archive, source=spec.name))
    return _Outcome(_report(spec, imported), None, etag)


def _sync_osv_api(ctx: _Context) -> _Outcome:
    spec = ctx.spec
    api = osv_api.OsvApiClient(ctx.http, base_url=spec.url or osv_api.DEFAULT_BASE_URL)
    queries = [osv_api.PackageQuery(eco, name) for eco, name in spec.packages]
    refs = {ref.id: ref for answer in api.query_batch(queries) for ref in answer}
    stored = stored_versions(ctx.engine, sorted(refs))
    # Fetch only what is new or whose modification time moved.
    wanted = [i for i, ref in sorted(refs.items()) if not _same_time(stored.get(i), ref.modified)]
    imported = ctx.ingest(api.fetch(wanted, source=spec.name))
    imported += ImportReport(unchanged=len(refs) - len(wanted))
    return _Outcome(_report(spec, imported), None, None)


def _same_time(stored: tuple[str, datetime] | None, modified: str | None) -> bool:
    if stored is None or modified is None:
        return False
    try:
        return datetime.fromisoformat(modified) == stored[1]
    except ValueError:
        return False


def _sync_ghsa(ctx: _Context) -> _Outcome:
    spec, state = ctx.spec, ctx.state
    api = ghsa.GhsaClient(ctx.http, token=ctx.token, base_url=spec.url or ghsa.DEFAULT_BASE_URL)
    pages = list(
        api.pages(
            source=spec.name,
            ecosystem=spec.ecosystem,
            affects=spec.affects,
            modified_since=state.cursor,
            etag=state.etag,
        )
    )
    if not pages:
        return ctx.unchanged(state.etag)
    results = [r for page in pages for r in page.results]
    modified = [r.advisory.modified for r in results if isinstance(r, ParsedRecord)]
    cursor = max(modified).strftime("%Y-%m-%dT%H:%M:%SZ") if modified else state.cursor
    imported = ctx.ingest(results)
    return _Outcome(_report(spec, imported, cursor=cursor), cursor, pages[0].etag)


def _sync_rss(ctx: _Context) -> _Outcome:
    spec = ctx.spec
    raw, etag = _fetch_bytes(ctx, MAX_FEED_BYTES)
    if raw is None:
        return ctx.unchanged(etag)
    scan = scan_feed(raw, feed=spec.name, tools=spec.tools, origin=spec.url or spec.path)
    with ctx.engine.begin() as conn:
        new_hits = save_feed_hits(conn, scan.hits, ctx.now)
    report = SyncReport(spec.name, skipped=scan.skipped, hits=scan.hits, new_hits=new_hits)
    return _Outcome(report, None, etag)


def _sync_kev(ctx: _Context) -> _Outcome:
    spec = ctx.spec
    raw, etag = _fetch_bytes(ctx, MAX_FEED_BYTES * 4)
    if raw is None:
        return ctx.unchanged(etag)
    catalog = parse_kev(raw, origin=spec.url or spec.path or spec.name)
    with ctx.engine.begin() as conn:
        count = replace_kev(conn, catalog.rows())
    return _Outcome(SyncReport(spec.name, skipped=catalog.skipped, kev_entries=count), None, etag)


_SYNCERS = {
    "osv": _sync_osv,
    "osv-zip": _sync_osv_zip,
    "osv-api": _sync_osv_api,
    "ghsa": _sync_ghsa,
    "rss": _sync_rss,
    "kev": _sync_kev,
}
