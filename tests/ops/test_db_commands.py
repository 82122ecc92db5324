"""`toolgate db upgrade` (idempotent), `db downgrade` (one step) on SQLite and PostgreSQL, and
`db backup` (SQLite's online backup) of a store being written to."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import inspect

from tests.ops.conftest import create_token, toolgate
from verifier.config import Config
from verifier.store.engine import create_store_engine
from verifier.store.migrate import current_revision, head_revision, previous_revision


def test_upgrade_is_idempotent_and_downgrade_undoes_one_migration(
    write_config: Callable[..., Config], store_url: str
):
    config = write_config(store_url)
    path = str(config.source_path)
    for _ in range(2):
        done = toolgate("db", "upgrade", "-c", path)
        assert done.returncode == 0, done.stderr
        assert f"store at revision {head_revision()} (head {head_revision()})" in done.stdout
    engine = create_store_engine(config.store_url)
    tables_at_head = set(inspect(engine).get_table_names())

    refused = toolgate("db", "downgrade", "-c", path)  # no TTY, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert current_revision(engine) == head_revision()

    done = toolgate("db", "downgrade", "--yes", "-c", path)
    assert done.returncode == 0, done.stderr
    previous = previous_revision(head_revision() or "")
    assert current_revision(engine) == previous
    assert f"store downgraded from {head_revision()} to {previous}" in done.stdout
    engine.dispose()
    engine = create_store_engine(config.store_url)
    assert set(inspect(engine).get_table_names()) <= tables_at_head

    # Up again: the schema is whole, and usable.
    assert toolgate("db", "upgrade", "-c", path).returncode == 0
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) == tables_at_head
    assert create_token(config.source_path, "after-upgrade").startswith("tg_")
    engine.dispose()


def test_backup_copies_a_consistent_store_and_refuses_to_overwrite(
    write_config: Callable[..., Config], tmp_path: Path
):
    config = write_config()
    path = str(config.source_path)
    create_token(config.source_path, "before-backup")
    backup = tmp_path / "backup.db"
    done = toolgate("db", "backup", str(backup), "-c", path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = {row[0] for row in copy.execute("SELECT name FROM api_token")}
        assert names == {"before-backup"}
    again = toolgate("db", "backup", str(backup), "-c", path)
    assert again.returncode == 2 and "File exists" in again.stderr


def test_backup_of_postgres_points_at_pg_dump(write_config: Callable[..., Config]):
    config = write_config("postgresql+psycopg://postgres@127.0.0.1:5432/none")
    done = toolgate("db", "backup", "x.db", "-c", str(config.source_path))
    assert done.returncode == 2 and "pg_dump" in done.stderr
