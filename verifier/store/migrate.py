"""Alembic migrations, run from code (`toolgate db upgrade`, and `serve` on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine) -> str | None:
    """Undo the newest applied migration (one step); returns the revision now in force."""
    command.downgrade(_alembic_config(engine), "-1")
    return current_revision(engine)


def previous_revision(revision: str) -> str | None:
    """The revision a one-step downgrade from `revision` goes back to (None: an empty schema)."""
    script = ScriptDirectory(str(MIGRATIONS)).get_revision(revision)
    down = script.down_revision if script is not None else None
    return down if isinstance(down, str) or down is None else down[0]


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision this version of toolgate knows."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
