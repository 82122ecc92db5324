"""Online backup of the SQLite store: a consistent copy while the daemon keeps writing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def backup_sqlite(database: Path, destination: Path) -> int:
    """Copy `database` to `destination` (a new file, mode 0600) with SQLite's backup API, which
    copies a consistent snapshot even while other connections write. Returns the size in bytes."""
    if not database.exists():
        raise FileNotFoundError(f"no SQLite store at {database}")
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite
    os.close(fd)
    source = sqlite3.connect(database)
    target = sqlite3.connect(destination)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        target.close()
        source.close()
    return destination.stat().st_size
