"""Persistence of advisories with SQLAlchemy Core (SQLite and PostgreSQL).

All tables are prefixed ``adv_`` and live in :data:`metadata`, which the daemon's migrations
create. Each record is stored as the canonical JSON (sorted keys, compact) of its OSV document
with a SHA-256 content hash, so re-storing the same record is detected as ``unchanged`` without
rewriting it; loading re-reads the documents with the current normaliser.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from .ecosystems import canonical_ecosystem, normalise_package
from .errors import ParseError, SkippedRecord
from .feeds import FeedHit
from .match import AdvisoryIndex
from .model import Advisory
from .osv import ParsedRecord, parse_record

metadata = sa.MetaData()

_ID = sa.String(255)
_TS = sa.DateTime(timezone=True)

advisory_table = sa.Table(
    "adv_advisory",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("source", sa.String(255), nullable=False),
    sa.Column("modified", _TS, nullable=False),
    sa.Column("published", _TS),
    sa.Column("withdrawn", _TS),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("first_seen_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

alias_table = sa.Table(
    "adv_alias",
    metadata,
    sa.Column(
        "advisory_id",
        _ID,
        sa.ForeignKey("adv_advisory.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("alias", _ID, primary_key=True),
    sa.Index("ix_adv_alias_alias", "alias"),
    sqlite_with_rowid=False,
)

affected_table = sa.Table(
    "adv_affected",
    metadata,
    sa.Column(
        "advisory_id",
        _ID,
        sa.ForeignKey("adv_advisory.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("ecosystem", sa.String(64), primary_key=True),
    sa.Column("package", sa.String(512), primary_key=True),
    sa.Index("ix_adv_affected_package", "ecosystem", "package"),
    sqlite_with_rowid=False,
)

feed_state_table = sa.Table(
    "adv_feed_state",
    metadata,
    sa.Column("feed", sa.String(255), primary_key=True),
    sa.Column("cursor", sa.Text),
    sa.Column("etag", sa.Text),
    sa.Column("last_attempt_at", _TS),
    sa.Column("last_success_at", _TS),
    sa.Column("last_error", sa.Text),
)

kev_table = sa.Table(
    "adv_kev",
    metadata,
    sa.Column("cve_id", sa.String(32), primary_key=True),
    sa.Column("vendor_project", sa.Text, nullable=False),
    sa.Column("product", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("date_added", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date),
    sa.Column("ransomware", sa.String(32)),
    sa.Column("catalog_version", sa.String(32)),
)

feed_hit_table = sa.Table(
    "adv_feed_hit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed", sa.String(255), nullable=False),
    sa.Column("entry_id", sa.Text, nullable=False),
    sa.Column("tool", sa.String(255), nullable=False),
    sa.Column("pattern", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("link", sa.Text),
    sa.Column("published", _TS),
    sa.Column("version_hints", sa.Text, nullable=False),
    sa.Column("first_seen_at", _TS, nullable=False),
    sa.UniqueConstraint("feed", "entry_id", "tool", name="uq_adv_feed_hit"),
)

# Columns of Prepared.row(); an insert also sets first_seen_at to updated_at.
_ADVISORY_COLUMNS = (
    "id",
    "source",
    "modified",
    "published",
    "withdrawn",
    "content_hash",
    "record",
    "updated_at",
)
_UPDATE_KEYS = tuple(f"b_{name}" for name in _ADVISORY_COLUMNS)
_CHUNK = 500  # ids per IN (...) list; well below SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What storing one batch did."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: tuple[SkippedRecord, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed's sync position and health."""

    feed: str
    cursor: str | None = None
    etag: str | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None


def create_tables(engine: sa.Engine) -> None:
    """Create the ``adv_`` tables if missing (tests and tools; the daemon uses migrations)."""
    metadata.create_all(engine)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stored(conn: sa.Connection, ids: Sequence[str]) -> dict[str, tuple[str, datetime]]:
    found: dict[str, tuple[str, datetime]] = {}
    query = sa.select(advisory_table.c.id, advisory_table.c.content_hash, advisory_table.c.modified)
    for chunk in _chunks(ids):
        for row in conn.execute(query.where(advisory_table.c.id.in_(chunk))):
            found[row.id] = (row.content_hash, _utc(row.modified))
    return found


@dataclass(frozen=True, slots=True)
class Prepared:
    """A read record in its stored form: the ``adv_advisory`` values, the canonical JSON of its
    OSV document with its hash, and the alias and package rows; ``origin`` (the file it was read
    from) is for reports and not part of the stored form."""

    id: str
    source: str
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None
    content_hash: str
    record: str
    aliases: tuple[str, ...]
    packages: tuple[tuple[str, str], ...]
    origin: str = field(default="", compare=False)

    @classmethod
    def of(cls, parsed: ParsedRecord) -> Prepared:
        """Canonicalise (sorted keys, compact); raises ParseError for values JSON cannot hold
        (YAML binary data, non-string keys)."""
        a = parsed.advisory
        try:
            raw = orjson.dumps(parsed.document, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:
            reason = f"record cannot be stored as JSON: {exc}"
            raise ParseError(reason, origin=parsed.origin, record_id=a.id) from None
        packages = tuple(dict.fromkeys([(x.ecosystem, x.package) for x in a.affected]))
        return cls(
            a.id,
            a.source,
            a.modified,
            a.published,
            a.withdrawn,
            hashlib.sha256(raw).hexdigest(),
            raw.decode(),
            a.aliases,
            packages,
            parsed.origin,
        )

    def row(self, now: datetime) -> tuple[Any, ...]:
        """The ``adv_advisory`` row, in :data:`_ADVISORY_COLUMNS` order."""
        return (
            self.id,
            self.source,
            self.modified,
            self.published,
            self.withdrawn,
            self.content_hash,
            self.record,
            now,
        )


def _qualified_name(conn: sa.Connection, table: sa.Table) -> str:
    schema = table.schema
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(schema, schema)
    quote = conn.dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(table.name)}" if schema else quote(table.name)


def _bulk_insert(
    conn: sa.Connection, table: sa.Table, names: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """``executemany`` of ``rows`` (values of the ``names`` columns) straight to the driver,
    in the caller's transaction.

    SQLAlchemy's per-row parameter handling costs more than SQLite's own insert, so rows go to
    the DBAPI as tuples; the column types' bind processors (SQLite datetimes) are applied here.
    """
    if not rows:
        return
    dialect = conn.dialect
    processors = [
        (i, _memoised(processor))
        for i, name in enumerate(names)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        is not None
    ]
    tuples = [_processed(row, processors) for row in rows] if processors else rows
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {_qualified_name(conn, table)} ({', '.join(map(quote, names))}) "
        f"VALUES ({', '.join([marker] * len(names))})"
    )
    conn.exec_driver_sql(sql, tuples)


def _memoised(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # A batch repeats values (its "now" in two columns, shared timestamps): convert each once.
    cache: dict[Any, Any] = {}

    def apply(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            cache[value] = converted = processor(value)
            return converted

    return apply


def _processed(
    row: tuple[Any, ...], processors: list[tuple[int, Callable[[Any], Any]]]
) -> tuple[Any, ...]:
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return tuple(values)


def upsert_prepared(conn: sa.Connection, batch: Sequence[Prepared], now: datetime) -> UpsertResult:
    """Store a batch (unique ids) in the caller's transaction: insert new records, rewrite
    changed ones, leave identical ones alone; a record older than the stored one is stale."""
    stored = _stored(conn, [p.id for p in batch])
    fresh: list[Prepared] = []
    changed: list[Prepared] = []
    stale: list[SkippedRecord] = []
    unchanged = 0
    for prepared in batch:
        previous = stored.get(prepared.id)
        if previous is None:
            fresh.append(prepared)
        elif previous[0] == prepared.content_hash:
            unchanged += 1
        elif prepared.modified < previous[1]:
            reason = f"older than the stored record (modified {previous[1].isoformat()})"
            stale.append(SkippedRecord(prepared.source, prepared.id, reason))
        else:
            changed.append(prepared)
    if changed:
        _rewrite(conn, [p.row(now) for p in changed])
    _bulk_insert(
        conn,
        advisory_table,
        (*_ADVISORY_COLUMNS, "first_seen_at"),
        [(*p.row(now), now) for p in fresh],
    )
    written = fresh + changed
    aliases = [(p.id, alias) for p in written for alias in p.aliases]
    packages = [(p.id, *key) for p in written for key in p.packages]
    _bulk_insert(conn, alias_table, ("advisory_id", "alias"), aliases)
    _bulk_insert(conn, affected_table, ("advisory_id", "ecosystem", "package"), packages)
    return UpsertResult(len(fresh), len(changed), unchanged, tuple(stale))


def _rewrite(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Update changed ``adv_advisory`` rows and drop their alias and package rows."""
    for chunk in _chunks([row[0] for row in rows]):
        conn.execute(sa.delete(alias_table).where(alias_table.c.advisory_id.in_(chunk)))
        conn.execute(sa.delete(affected_table).where(affected_table.c.advisory_id.in_(chunk)))
    update = (
        sa.update(advisory_table)
        .where(advisory_table.c.id == sa.bindparam("b_id"))
        .values({c: sa.bindparam(f"b_{c}") for c in _ADVISORY_COLUMNS[1:]})
    )
    conn.execute(update, [dict(zip(_UPDATE_KEYS, row, strict=True)) for row in rows])


def _load(record: str, source: str, advisory_id: str) -> Advisory:
    # Stored documents are re-read with today's normaliser, so fixes apply without re-import.
    document = orjson.loads(record)
    return parse_record(document, source=source, origin=f"adv_advisory {advisory_id}")


def iter_advisories(engine: sa.Engine, *, batch: int = 5000) -> Iterator[Advisory]:
    """Every stored advisory, streamed; raises ParseError if a stored record no longer reads."""
    query = sa.select(advisory_table.c.record, advisory_table.c.source, advisory_table.c.id)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=batch).execute(query):
            yield _load(row.record, row.source, row.id)


def get_advisory(engine: sa.Engine, advisory_id: str) -> Advisory | None:
    """One stored record by id."""
    query = sa.select(advisory_table.c.record, advisory_table.c.source)
    with engine.connect() as conn:
        row = conn.execute(query.where(advisory_table.c.id == advisory_id)).first()
    return _load(row.record, row.source, advisory_id) if row is not None else None


def find_advisories(engine: sa.Engine, identifier: str) -> list[Advisory]:
    """Records stored under ``identifier`` or listing it as an alias (e.g. a CVE id)."""
    ids = sa.select(alias_table.c.advisory_id).where(alias_table.c.alias == identifier)
    query = sa.select(advisory_table.c.record, advisory_table.c.source, advisory_table.c.id).where(
        sa.or_(advisory_table.c.id == identifier, advisory_table.c.id.in_(ids))
    )
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(advisory_table.c.id)).all()
    return [_load(row.record, row.source, row.id) for row in rows]


def get_feed_state(conn: sa.Connection, feed: str) -> FeedState:
    """The stored state of ``feed`` (empty when never synced)."""
    row = conn.execute(sa.select(feed_state_table).where(feed_state_table.c.feed == feed)).first()
    if row is None:
        return FeedState(feed)
    return FeedState(
        feed=row.feed,
        cursor=row.cursor,
        etag=row.etag,
        last_attempt_at=_utc(row.last_attempt_at),
        last_success_at=_utc(row.last_success_at),
        last_error=row.last_error,
    )


def feed_states(engine: sa.Engine) -> list[FeedState]:
    """Every feed's state, for freshness checks (``/readyz``) and reports."""
    with engine.connect() as conn:
        names = conn.scalars(sa.select(feed_state_table.c.feed).order_by(feed_state_table.c.feed))
        return [get_feed_state(conn, name) for name in names.all()]


def save_feed_state(conn: sa.Connection, state: FeedState) -> None:
    """Insert or replace a feed's state."""
    values = {
        "cursor": state.cursor,
        "etag": state.etag,
        "last_attempt_at": state.last_attempt_at,
        "last_success_at": state.last_success_at,
        "last_error": state.last_error,
    }
    done = conn.execute(
        sa.update(feed_state_table).where(feed_state_table.c.feed == state.feed).values(values)
    )
    if done.rowcount == 0:
        conn.execute(sa.insert(feed_state_table).values(feed=state.feed, **values))


def replace_kev(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Replace the stored KEV catalogue with ``rows`` (columns of ``adv_kev``)."""
    rows = list(rows)
    conn.execute(sa.delete(kev_table))
    if rows:
        conn.execute(sa.insert(kev_table), rows)
    return len(rows)


def known_exploited_ids(engine: sa.Engine) -> frozenset[str]:
    """CVE ids in the stored KEV catalogue."""
    with engine.connect() as conn:
        return frozenset(conn.scalars(sa.select(kev_table.c.cve_id)).all())


def stored_versions(engine: sa.Engine, ids: Sequence[str]) -> dict[str, tuple[str, datetime]]:
    """(content hash, modified) of each stored id among ``ids``."""
    with engine.connect() as conn:
        return _stored(conn, ids)


def save_feed_hits(conn: sa.Connection, hits: Sequence[FeedHit], now: datetime) -> int:
    """Store hits not seen before (by feed, entry id, tool); returns how many were new."""
    if not hits:
        return 0
    table = feed_hit_table
    query = sa.select(table.c.entry_id, table.c.tool).where(
        table.c.feed == hits[0].feed, table.c.entry_id.in_({h.entry_id for h in hits})
    )
    known = {(row.entry_id, row.tool) for row in conn.execute(query)}
    fresh = {(h.entry_id, h.tool): h for h in hits if (h.entry_id, h.tool) not in known}
    if fresh:
        conn.execute(
            sa.insert(table),
            [
                {
                    "feed": h.feed,
                    "entry_id": h.entry_id,
                    "tool": h.tool,
                    "pattern": h.pattern,
                    "title": h.title,
                    "link": h.link,
                    "published": h.published,
                    "version_hints": orjson.dumps(list(h.version_hints)).decode(),
                    "first_seen_at": now,
                }
                for h in fresh.values()
            ],
        )
    return len(fresh)


def feed_hits(engine: sa.Engine, feed: str | None = None) -> list[tuple[FeedHit, datetime]]:
    """Stored hits (with when each was first seen), oldest first."""
    query = sa.select(feed_hit_table).order_by(feed_hit_table.c.id)
    if feed is not None:
        query = query.where(feed_hit_table.c.feed == feed)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        (
            FeedHit(
                feed=r.feed,
                entry_id=r.entry_id,
                link=r.link,
                title=r.title,
                published=_utc(r.published),
                tool=r.tool,
                pattern=r.pattern,
                version_hints=tuple(orjson.loads(r.version_hints)),
            ),
            _utc(r.first_seen_at),
        )
        for r in rows
    ]


def load_index(
    engine: sa.Engine, packages: Iterable[tuple[str, str]] | None = None
) -> AdvisoryIndex:
    """Build the match index from the stored advisories and KEV catalogue.

    ``packages`` — (ecosystem, name) pairs such as a daemon's configured tools — limits it to
    the advisories of those packages (found through ``adv_affected``); None loads everything.
    """
    kev = known_exploited_ids(engine)
    if packages is None:
        return AdvisoryIndex(iter_advisories(engine), known_exploited=kev)
    return AdvisoryIndex(_advisories_of(engine, packages), known_exploited=kev)


def _advisories_of(engine: sa.Engine, packages: Iterable[tuple[str, str]]) -> list[Advisory]:
    keys = set()
    for ecosystem, name in packages:
        canonical = canonical_ecosystem(ecosystem) or ecosystem
        keys.add((canonical, normalise_package(canonical, name)))
    wanted = sa.tuple_(affected_table.c.ecosystem, affected_table.c.package)
    ids: set[str] = set()
    with engine.connect() as conn:
        for chunk in _chunks(sorted(keys), _CHUNK // 2):  # two parameters per pair
            query = sa.select(affected_table.c.advisory_id).where(wanted.in_(chunk))
            ids.update(conn.scalars(query))
        query = sa.select(advisory_table.c.record, advisory_table.c.source, advisory_table.c.id)
        return [
            _load(row.record, row.source, row.id)
            for chunk in _chunks(sorted(ids))
            for row in conn.execute(query.where(advisory_table.c.id.in_(chunk)))
        ]
