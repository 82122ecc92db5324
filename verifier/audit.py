"""The audit trail of decisions: buffered off the request path, flushed in batches.

What a `kill -9` can lose: the records of the last `[audit] flush_interval` (1 s by default).
SIGTERM flushes everything. With `[audit] durable = true` each answer waits for its record to be
committed, at a cost in throughput. When `buffer_limit` records are waiting (a load the writer
cannot keep up with), answers wait for the next write: slower, never lost. Only while the store is
unreachable do records beyond `buffer_limit` get dropped, oldest first, and counted
(`toolgate_audit_dropped_total`): decisions must go on without the database.

The server writes through a separate process (`verifier.audit_writer`); a batch stays in this
buffer until the writer acknowledged its commit, so a writer that dies loses nothing (a new one
is started, and the batch is written again: one that died between its commit and its
acknowledgement leaves that batch recorded twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Protocol

import orjson
import psycopg
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from verifier.store.models import DecisionLogRow

log = logging.getLogger(__name__)


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


class AuditBuffer:
    """A bounded in-memory queue of records, written to the store in batches by `writer`
    (default: a StoreWriter on `engine`, in a worker thread)."""

    def __init__(
        self, engine: Engine, limit: int, *, durable: bool = False, writer: Writer | None = None
    ) -> None:
        self._writer = writer or StoreWriter(engine)
        self._limit = limit
        self._durable = durable
        self._lock = asyncio.Lock()
        self._pending: deque[AuditRow] = deque()
        self._in_flight = 0
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None

    def __len__(self) -> int:
        """Records not yet committed (queued, or in the batch being written)."""
        return len(self._pending) + self._in_flight

    def append(self, record: AuditRecord) -> None:
        """Queue a record (see `append_row`)."""
        self.append_row(_VALUES(record))

    def append_row(self, row: AuditRow) -> None:
        """Queue a record's values, in AuditRecord's field order. Only while the store is
        unreachable are the oldest beyond the limit dropped (and counted); otherwise a full
        buffer makes answers wait (`must_flush_now`)."""
        self._pending.append(row)
        if self.last_error is not None and len(self._pending) > self._limit:
            self._pending.popleft()
            self.dropped += 1

    @property
    def must_flush_now(self) -> bool:
        """Whether an answer must wait for its record to be written before it is sent: always
        in durable mode, and as backpressure when the buffer is full and the store reachable."""
        return self._durable or (len(self._pending) >= self._limit and self.last_error is None)

    async def flush(self) -> int:
        """Write what is pending; on failure keep it for the next try. Returns records written."""
        async with self._lock:  # one write at a time; a waiter then writes what arrived since
            return await self._flush()

    async def _flush(self) -> int:
        if not self._pending:
            return 0
        batch = list(self._pending)
        self._pending.clear()
        self._in_flight = len(batch)
        try:
            await asyncio.to_thread(self._writer.write, batch)
        except (SQLAlchemyError, WriteFailed) as exc:
            self.last_error = str(exc).splitlines()[0]
            log.warning("audit flush failed, keeping %d records: %s", len(batch), self.last_error)
            self._pending.extendleft(reversed(batch))
            while len(self._pending) > self._limit:
                self._pending.popleft()
                self.dropped += 1
            return 0
        finally:
            self._in_flight = 0
        self.last_error = None
        self.written += len(batch)
        return len(batch)

    async def close(self) -> None:
        """Flush, then stop the writer (a later flush starts it again)."""
        async with self._lock:
            await self._flush()
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
