"""Database engines: SQLite in WAL mode by default, PostgreSQL (psycopg 3) for several replicas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

LOCK_TIMEOUT_MS = 30_000  # PostgreSQL: a statement waiting this long for a lock fails


def create_store_engine(url: str, *, statement_timeout: float | None = None) -> Engine:
    """An engine for `url`, creating the SQLite file's directory and enabling WAL.

    Time limits: connecting (5 s), waiting for a lock (SQLite's busy timeout, 10 s; PostgreSQL's
    lock_timeout, 30 s), a dead peer (TCP keepalives) and, if given, each PostgreSQL statement
    (`statement_timeout` seconds)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options = f"-c lock_timeout={LOCK_TIMEOUT_MS}"
    if statement_timeout is not None:
        options += f" -c statement_timeout={int(statement_timeout * 1000)}"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={
            "connect_timeout": 5,
            "options": options,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the decision_log index pages hot
    cursor.close()
