"""Batch ingestion of read results into the store, with one report of what happened."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from .errors import ParseError, SkippedRecord
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


def _enable_wal(engine: sa.Engine) -> None:
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Records are acyclic trees that reference counting frees; the cyclic collector would keep
    # rescanning every object of the live batch, about a quarter of the ingest time. Paused
    # for the run (process-wide, so other threads only defer their cycle collection).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    with _collector_paused():
        return _ingest(engine, results, progress, batch_size, now or datetime.now(UTC))


def _ingest(
    engine: sa.Engine,
    results: Iterable[ReadResult],
    progress: Progress | None,
    batch_size: int,
    now: datetime,
) -> ImportReport:
    _enable_wal(engine)
    sqlite = engine.dialect.name == "sqlite"
    seen: dict[str, tuple[str, str]] = {}
    report = ImportReport()
    skipped: list[SkippedRecord] = []
    batch: list[Prepared] = []
    duplicates = 0
    count = 0
    origin = ""

    def flush() -> None:
        nonlocal report, batch
        with engine.begin() as conn:
            if sqlite:
                # WAL-safe bulk settings for the connections used: no fsync per commit, and
                # checkpoints every ~40 MB of WAL rather than every 4 MB.
                conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                conn.exec_driver_sql("PRAGMA wal_autocheckpoint=10000")
            result = upsert_prepared(conn, batch, now)
        report += ImportReport(result.new, result.updated, result.unchanged, result.stale)
        batch = []
        if progress is not None:
            progress(count, origin)

    for item in results:
        count += 1
        if isinstance(item, SkippedRecord):
            skipped.append(item)
            origin = item.origin
            continue
        origin = item.origin
        try:
            prepared = Prepared.of(item)
        except ParseError as exc:
            skipped.append(exc.skipped())
            continue
        first = seen.get(prepared.advisory.id)
        if first is None:
            seen[prepared.advisory.id] = (prepared.content_hash, origin)
            batch.append(prepared)
            if len(batch) >= batch_size:
                flush()
        elif first[0] == prepared.content_hash:
            duplicates += 1
        else:
            reason = f"duplicate id with different content (first read from {first[1]})"
            skipped.append(SkippedRecord(origin, prepared.advisory.id, reason))
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
