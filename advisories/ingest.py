"""Batch ingestion of read results into the store, with one report of what happened."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .errors import ParseError, SkippedRecord
from .gcpause import paused_gc
from .osv import MAX_RECORD_BYTES, ReadResult, read_paths
from .store import Prepared, upsert_prepared

#: ``progress(records_seen, origin_of_last_record)``, called once per stored batch.
Progress = Callable[[int, str], None]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Counts of an ingestion run and every skipped record with its file and id."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: tuple[SkippedRecord, ...] = field(default=())

    @property
    def total(self) -> int:
        """Records seen, skipped ones included."""
        return self.new + self.updated + self.unchanged + len(self.skipped)

    def __add__(self, other: ImportReport) -> ImportReport:
        return ImportReport(
            self.new + other.new,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.skipped + other.skipped,
        )


#: Settings of the connection an import writes through, restored afterwards. With WAL, commits
#: need no fsync (``synchronous=NORMAL`` still syncs at checkpoints, so a crash or power loss
#: loses at most the last batches, never the store's consistency); checkpoints run every ~40 MB
#: of WAL rather than every 4 MB; a 64 MB page cache keeps the alias and package indexes in
#: memory instead of re-reading their pages for each batch. ``synchronous=OFF`` is not used: a
#: checkpoint would then overwrite database pages without syncing the WAL first, and an OS crash
#: or power loss in between leaves the store corrupt; it would save ~5 µs of ~70 per record.
_BULK_PRAGMAS = {"synchronous": "NORMAL", "wal_autocheckpoint": "10000", "cache_size": "-65536"}


@contextmanager
def _import_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for the whole import; on SQLite in WAL mode with :data:`_BULK_PRAGMAS`.

    The settings go through the driver connection, outside any transaction: SQLite refuses to
    change ``synchronous`` inside one, and an engine may open one as soon as SQLAlchemy does
    (e.g. ``BEGIN IMMEDIATE`` in a ``begin`` listener).
    """
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            yield conn
            return
        driver = conn.connection.driver_connection
        assert driver is not None
        if engine.url.database not in (None, "", ":memory:"):
            driver.execute("PRAGMA journal_mode=WAL")
        saved = {name: driver.execute(f"PRAGMA {name}").fetchone()[0] for name in _BULK_PRAGMAS}
        _set_pragmas(driver, _BULK_PRAGMAS)
        try:
            yield conn
        finally:
            conn.rollback()
            _set_pragmas(driver, saved)


def _set_pragmas(driver: Any, values: dict[str, Any]) -> None:
    """``PRAGMA name=value`` for each item, on a DBAPI connection."""
    for name, value in values.items():
        driver.execute(f"PRAGMA {name}={value}")


def ingest(
    engine: sa.Engine,
    results: Iterable[ReadResult],
    *,
    progress: Progress | None = None,
    batch_size: int = 5000,
    now: datetime | None = None,
) -> ImportReport:
    """Store read results in batches, one transaction per batch.

    A second record with an id already seen in this run is skipped when its content differs
    (the first one wins, both origins are named) and counted unchanged when identical.
    """
    with paused_gc():
        return store_prepared(
            engine, prepare(results), progress=progress, batch_size=batch_size, now=now
        )


def prepare(results: Iterable[ReadResult]) -> Iterator[Prepared | SkippedRecord]:
    """Read results in their stored form; a record JSON cannot hold is skipped."""
    for item in results:
        if isinstance(item, SkippedRecord):
            yield item
            continue
        try:
            yield Prepared.of(item)
        except ParseError as exc:
            yield exc.skipped()


def store_prepared(
    engine: sa.Engine,
    items: Iterable[Prepared | SkippedRecord],
    *,
    progress: Progress | None = None,
    batch_size: int = 5000,
    now: datetime | None = None,
) -> ImportReport:
    """:func:`ingest` of records already in their stored form."""
    now = now or datetime.now(UTC)
    seen: dict[str, tuple[str, str]] = {}
    report = ImportReport()
    skipped: list[SkippedRecord] = []
    batch: list[Prepared] = []
    duplicates = count = 0
    origin = ""
    with _import_connection(engine) as conn:

        def flush() -> None:
            nonlocal report, batch
            with conn.begin():
                result = upsert_prepared(conn, batch, now)
            report += ImportReport(result.new, result.updated, result.unchanged, result.stale)
            batch = []
            if progress is not None:
                progress(count, origin)

        for item in items:
            count += 1
            origin = item.origin
            if isinstance(item, SkippedRecord):
                skipped.append(item)
                continue
            first = seen.get(item.id)
            if first is None:
                seen[item.id] = (item.content_hash, origin)
                batch.append(item)
                if len(batch) >= batch_size:
                    flush()
            elif first[0] == item.content_hash:
                duplicates += 1
            else:
                reason = f"duplicate id with different content (first read from {first[1]})"
                skipped.append(SkippedRecord(origin, item.id, reason))
        if batch or progress is not None:
            flush()
    return report + ImportReport(unchanged=duplicates, skipped=tuple(skipped))


def import_paths(
    engine: sa.Engine,
    paths: Iterable[Path | str],
    *,
    source: str = "import",
    progress: Progress | None = None,
    max_bytes: int = MAX_RECORD_BYTES,
    batch_size: int = 5000,
) -> ImportReport:
    """Import OSV JSON/YAML files, directories and zip archives into the store."""
    results = read_paths(paths, source=source, max_bytes=max_bytes)
    return ingest(engine, results, progress=progress, batch_size=batch_size)
