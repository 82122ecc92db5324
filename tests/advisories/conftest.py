"""Shared fixtures: the real advisory fixtures and SQLite/PostgreSQL engines with private tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from advisories import Advisory, SkippedRecord, read_paths
from advisories.store import metadata
from tests.conftest import FIXTURES

OSV_FIXTURES = FIXTURES / "osv"
FEED_FIXTURES = FIXTURES / "feeds"
GITHUB_FIXTURES = FIXTURES / "github"
POSTGRES_URL = os.environ.get(
    "TOOLGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def fixture_advisories() -> list[Advisory]:
    """Every record in the shared OSV fixtures (none may be skipped)."""
    results = list(read_paths([OSV_FIXTURES], source="fixtures"))
    skipped = [r for r in results if isinstance(r, SkippedRecord)]
    assert skipped == []
    return [r.advisory for r in results]


def _sqlite(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'advisories.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _postgres() -> Iterator[sa.Engine]:
    schema = f"adv_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    engine = admin.execution_options(schema_translate_map={None: schema})
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine with fresh ``adv_`` tables on SQLite, then on PostgreSQL (own schema)."""
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:
        yield from _postgres()
