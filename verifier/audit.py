"""The audit trail of decisions: buffered off the request path, flushed in batches.

What a `kill -9` can lose: the records not yet committed, i.e. those of the last
`[audit] flush_interval` (250 ms by default), or, while the store is down or stalled, every
record buffered since (at most `buffer_limit`). SIGTERM flushes everything. With
`[audit] durable = true` an answer is a decision only once its record is committed: it waits for
the commit (at most ACK_SECONDS), and is refused (503, Retry-After) when the record was not
stored; a kill -9 then loses no acknowledged record. When `buffer_limit` records are waiting (a
load the writer cannot keep up with), answers wait a moment for the next write; while the store
fails or stalls (a write in flight over STALL_SECONDS), records beyond `buffer_limit` are
dropped, oldest first, and counted (`toolgate_audit_dropped_total`): decisions must go on
without the database.

The server writes through a separate process (`verifier.audit_writer`); a batch stays in this
buffer until the writer acknowledged its commit, so a writer that dies loses nothing (a new one
is started, and the batch is written again: one that died between its commit and its
acknowledgement leaves that batch recorded twice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from verifier.store.models import DecisionLogRow

log = logging.getLogger(__name__)
ACK_SECONDS = 5.0  # durable: the longest an answer waits for its record's commit
BACKPRESSURE_SECONDS = 1.0  # a full buffer: the longest an answer waits for a write
STALL_SECONDS = 1.0  # a write in flight this long: the store counts as not taking writes


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    token_name: str
    runner: str | None
    job: str | None
    tool: str
    version: str
    sha256: str | None
    asset: str | None
    decision: str
    would_deny: bool
    reasons_json: str
    revision: int


AuditRow = tuple[Any, ...]  # an AuditRecord's values, in field order (what the buffer holds)
_COLUMNS = tuple(field.name for field in fields(AuditRecord))
_VALUES = attrgetter(*_COLUMNS)
_SQLITE_INSERT = (
    f"INSERT INTO decision_log ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
assert _COLUMNS[0] == "at"  # _sqlite_row converts the first value


def _sqlite_row(row: AuditRow) -> AuditRow:
    """The row as the store's SQLite columns hold it: `at` as naive UTC text, as UTCDateTime
    writes it (the driver stores a bool as the integer SQLAlchemy's Boolean writes)."""
    at = row[0]
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return (at.isoformat(" ", "microseconds")[:26], *row[1:])  # without "+00:00"


_POSTGRES_COPY = f"COPY decision_log ({', '.join(_COLUMNS)}) FROM STDIN"


def _postgres_row(row: AuditRow) -> AuditRow:
    """The row as the store's PostgreSQL columns hold it (`at` as naive UTC, as UTCDateTime)."""
    return (row[0].astimezone(UTC).replace(tzinfo=None), *row[1:])


def _copy_to_postgres(connection: Connection, rows: list[AuditRow]) -> None:
    """COPY `rows` into decision_log in the connection's transaction: about 2 us of CPU a row
    where an INSERT through SQLAlchemy costs 12. The driver's error is raised as SQLAlchemy's
    (DBAPIError), as from any other statement."""
    import psycopg  # only a PostgreSQL store gets here: a SQLite daemon never loads the driver

    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        with cursor.copy(_POSTGRES_COPY) as copy:
            for row in rows:
                copy.write_row(_postgres_row(row))
    except psycopg.Error as exc:
        raise DBAPIError.instance(_POSTGRES_COPY, None, exc, psycopg.Error) from exc
    finally:
        cursor.close()


class WriteFailed(Exception):
    """A batch was not committed (store error, or the writer process died); none of it was."""


class Writer(Protocol):
    def start(self) -> None: ...

    def write(self, rows: list[AuditRow]) -> None: ...

    def close(self) -> None: ...


class StoreWriter:
    """Inserts rows into the store from the calling thread (the writer process uses it too)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(self) -> None:
        """Nothing to start: writes run in the caller's thread."""

    def write(self, rows: list[AuditRow]) -> None:
        """Insert `rows` in one transaction (SQLAlchemyError if the store refused)."""
        # Rows are built by hand: dataclasses.asdict or ORM conversion cost several times the
        # insert itself.
        with self._engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql(_SQLITE_INSERT, [_sqlite_row(r) for r in rows])
            else:
                _copy_to_postgres(connection, rows)

    def close(self) -> None:
        """Nothing to release: the engine belongs to the caller."""


class _Batch:
    """The records appended between two writes, and what became of them (None: not written
    yet; True: committed; False: the write failed)."""

    __slots__ = ("committed", "first", "written")

    def __init__(self, first: int) -> None:
        self.first = first  # sequence number of its first record
        self.committed: bool | None = None
        self.written = 0


class AuditBuffer:
    """A bounded in-memory queue of records, written to the store in batches by `writer`
    (default: a StoreWriter on `engine`, in a worker thread), one write at a time.

    Answers never wait on a write for long: with `durable`, at most `ACK_SECONDS` for their own
    record (then `settle` says it was not stored); otherwise, only while the buffer is full, at
    most `BACKPRESSURE_SECONDS`. A write in flight longer than `STALL_SECONDS` makes the store
    count as not taking writes (`problem`) until it ends."""

    def __init__(
        self, engine: Engine, limit: int, *, durable: bool = False, writer: Writer | None = None
    ) -> None:
        self._writer = writer or StoreWriter(engine)
        self._limit = limit
        self._durable = durable
        self._pending: deque[AuditRow | None] = deque()  # None: a record withdrawn (durable)
        self._batch = _Batch(0)
        self._appended = 0  # records ever appended (the next one's sequence number)
        self._fresh = 0  # records appended since the last `settle`: the caller's
        self._flushing: asyncio.Task[None] | None = None
        self._writing_since: float | None = None  # time.monotonic() of the write in flight
        self._in_flight = 0
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None

    def __len__(self) -> int:
        """Records not yet committed (queued, or in the batch being written)."""
        return len(self._pending) + self._in_flight

    @property
    def stalled(self) -> bool:
        """Whether the write in flight has been waiting on the store for over STALL_SECONDS."""
        since = self._writing_since
        return since is not None and time.monotonic() - since > STALL_SECONDS

    @property
    def problem(self) -> str | None:
        """Why records are not reaching the store now, or None."""
        if self.stalled and self._writing_since is not None:
            waited = time.monotonic() - self._writing_since
            return f"no answer from the store for {waited:.0f} s"
        return self.last_error

    def append(self, record: AuditRecord) -> None:
        """Queue a record (see `append_row`)."""
        self.append_row(_VALUES(record))

    def append_row(self, row: AuditRow) -> None:
        """Queue a record's values, in AuditRecord's field order. While the store is failing or
        stalled, the oldest records beyond the limit are dropped (and counted); otherwise a full
        buffer makes answers wait a moment (`must_flush_now`). Durable records are never
        dropped: each answer waits for its own."""
        self._pending.append(row)
        self._appended += 1
        self._fresh += 1
        if self._durable or len(self._pending) <= self._limit:
            return
        if self.last_error is not None or self.stalled:
            self._pending.popleft()
            self.dropped += 1

    @property
    def must_flush_now(self) -> bool:
        """Whether an answer must `settle` before it is sent: always in durable mode, and as
        backpressure when the buffer is full and the store takes writes."""
        return self._durable or (
            len(self._pending) >= self._limit and self.last_error is None and not self.stalled
        )

    async def settle(self) -> bool:
        """Call right after appending an answer's records (no await in between). Durable: wait
        until they are committed, at most ACK_SECONDS; False when they were not (the write
        failed, or took too long: if it had not begun, they are withdrawn and never stored),
        and the answer must then not be a decision. Otherwise wait for a write, at most
        BACKPRESSURE_SECONDS, and return True."""
        fresh, self._fresh = self._fresh, 0
        batch, last = self._batch, self._appended
        if not self._durable:
            await self._written(batch, BACKPRESSURE_SECONDS)
            return True
        if await self._written(batch, ACK_SECONDS):
            return bool(batch.committed)
        if batch is self._batch:  # its write has not begun: withdraw the caller's records
            for sequence in range(last - fresh, last):
                self._pending[sequence - batch.first] = None
        return False

    async def _written(self, batch: _Batch, timeout: float) -> bool:
        """Wait until `batch` was written (or failed to be); False after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while batch.committed is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            done, _ = await asyncio.wait({self._start_flush()}, timeout=remaining)
            if not done:
                return False
        return True

    def _start_flush(self) -> asyncio.Task[None]:
        """The write in flight, or a new one of what is pending (one write at a time)."""
        flushing, loop = self._flushing, asyncio.get_running_loop()
        if flushing is None or flushing.done() or flushing.get_loop() is not loop:
            flushing = self._flushing = loop.create_task(self._flush())
        return flushing

    async def flush(self) -> int:
        """Write what is pending (after the write in flight, if any); on failure keep it for
        the next try, unless durable. Returns the records this call's write committed."""
        batch = self._batch
        while batch.committed is None:  # the write in flight, if any, then the one of `batch`
            await asyncio.wait({self._start_flush()})  # cancelling the caller never cancels it
        return batch.written

    async def _flush(self) -> None:
        batch, self._batch = self._batch, _Batch(self._appended)
        try:
            await self._write(batch)
        finally:
            if batch.committed is None:  # never left unsettled, whatever happened
                batch.committed = False

    async def _write(self, batch: _Batch) -> None:
        rows = [row for row in self._pending if row is not None]
        self._pending.clear()
        if not rows:
            batch.committed = True
            return
        self._in_flight = len(rows)
        self._writing_since = time.monotonic()
        try:
            await asyncio.to_thread(self._writer.write, rows)
        except Exception as exc:  # whatever it was, these rows are not stored
            batch.committed = False
            self.last_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            expected = isinstance(exc, SQLAlchemyError | WriteFailed)
            log.warning(
                "audit write failed, %s %d records: %s",
                "refusing" if self._durable else "keeping",
                len(rows),
                self.last_error,
                exc_info=None if expected else exc,
            )
            if not self._durable:  # durable: their answers were refused, never acknowledged
                self._pending.extendleft(reversed(rows))
                while len(self._pending) > self._limit:
                    self._pending.popleft()
                    self.dropped += 1
            return
        finally:
            self._in_flight = 0
            self._writing_since = None
        batch.committed = True
        batch.written = len(rows)
        self.last_error = None
        self.written += len(rows)

    async def close(self) -> None:
        """Flush, then stop the writer (a later flush starts it again)."""
        await self.flush()
        await asyncio.to_thread(self._writer.close)

    async def run(self, interval: float) -> None:
        """Start the writer (so the first batch does not wait for it), then flush every
        `interval` seconds until cancelled."""
        try:
            await asyncio.to_thread(self._writer.start)
        except WriteFailed as exc:  # the first flush tries again
            log.warning("audit writer not started: %s", exc)
        while True:
            await asyncio.sleep(interval)
            await self.flush()


def record_json(row: DecisionLogRow) -> dict[str, Any]:
    """A stored decision as the API and `toolgate audit --json` show it (reasons parsed)."""
    out = row.model_dump(mode="json", exclude={"reasons_json"})
    out["reasons"] = orjson.loads(row.reasons_json)
    return out


def query_audit(
    engine: Engine,
    *,
    tool: str | None = None,
    version: str | None = None,
    since: datetime | None = None,
    would_deny: bool = False,
    limit: int = 1000,
) -> list[DecisionLogRow]:
    """Decision records, newest first."""
    statement = select(DecisionLogRow).order_by(DecisionLogRow.at.desc(), DecisionLogRow.id.desc())
    if tool:
        statement = statement.where(DecisionLogRow.tool == tool)
    if version:
        statement = statement.where(DecisionLogRow.version == version)
    if since:
        statement = statement.where(DecisionLogRow.at >= since)
    if would_deny:
        statement = statement.where(DecisionLogRow.would_deny.is_(True))
    with Session(engine) as session:
        return list(session.scalars(statement.limit(limit)))
