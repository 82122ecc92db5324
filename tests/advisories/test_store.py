"""Persistence on SQLite and PostgreSQL: idempotent upserts, updates, feed state, KEV rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from advisories import (
    create_tables,
    find_advisories,
    get_advisory,
    import_paths,
    ingest,
    load_index,
    read_paths,
)
from advisories.store import (
    FeedState,
    advisory_table,
    affected_table,
    alias_table,
    feed_states,
    get_feed_state,
    replace_kev,
    save_feed_state,
)
from tests.conftest import run_python

from .conftest import OSV_FIXTURES
from .test_osv_reading import BINARY_YAML, osv


def _rows(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def test_fixtures_import_once_then_report_unchanged(engine: sa.Engine) -> None:
    seen: list[int] = []
    first = import_paths(
        engine, [OSV_FIXTURES], source="fixtures", progress=lambda n, _: seen.append(n)
    )
    assert (first.new, first.updated, first.unchanged, first.skipped) == (38, 0, 0, ())
    assert seen and seen[-1] == 38
    counts = (
        _rows(engine, advisory_table),
        _rows(engine, alias_table),
        _rows(engine, affected_table),
    )
    again = import_paths(engine, [OSV_FIXTURES], source="fixtures")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 38)
    assert (
        _rows(engine, advisory_table),
        _rows(engine, alias_table),
        _rows(engine, affected_table),
    ) == counts
    assert counts[2] == 47  # distinct (record, ecosystem, package) pairs
    index = load_index(engine)
    assert len(index) == 38
    assert {m.advisory_id for m in index.match("PyPI", "requests", "2.30.0")} == {"PYSEC-2023-74"}
    tools = [("Go", "github.com/aquasecurity/trivy"), ("pypi", "Requests"), ("npm", "absent")]
    small = load_index(engine, tools)
    assert sorted(a.id for a in (small.get("GO-2024-2870"), small.get("PYSEC-2023-74"))) == [
        "GO-2024-2870",
        "PYSEC-2023-74",
    ]
    assert len(small) == 2 and small.match("Go", "github.com/aquasecurity/trivy", "v0.51.1")


def test_modified_records_update_and_withdrawal_retracts(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "rec.json"
    path.write_text(json.dumps(osv("GHSA-x")))
    assert import_paths(engine, [path]).new == 1
    assert load_index(engine).match("PyPI", "demo", "0.9")

    newer = osv("GHSA-x", modified="2024-06-01T00:00:00Z", aliases=["CVE-2024-1"])
    newer["affected"][0]["ranges"][0]["events"][1] = {"fixed": "0.5"}
    path.write_text(json.dumps(newer))
    report = import_paths(engine, [path])
    assert (report.new, report.updated, report.unchanged) == (0, 1, 0)
    assert load_index(engine).match("PyPI", "demo", "0.9") == []
    assert [a.id for a in find_advisories(engine, "CVE-2024-1")] == ["GHSA-x"]

    path.write_text(
        json.dumps(
            {**newer, "withdrawn": "2024-07-01T00:00:00Z", "modified": "2024-07-01T00:00:00Z"}
        )
    )
    assert import_paths(engine, [path]).updated == 1
    assert load_index(engine).match("PyPI", "demo", "0.1") == []
    stored = get_advisory(engine, "GHSA-x")
    assert stored is not None and stored.withdrawn == datetime(2024, 7, 1, tzinfo=UTC)


def test_older_copies_do_not_overwrite_newer_ones(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "rec.json"
    path.write_text(json.dumps(osv("GHSA-y", modified="2024-06-01T00:00:00Z")))
    import_paths(engine, [path])
    path.write_text(json.dumps(osv("GHSA-y", modified="2024-01-01T00:00:00Z", summary="old")))
    report = import_paths(engine, [path])
    assert report.updated == 0 and "older than the stored record" in report.skipped[0].reason
    assert get_advisory(engine, "GHSA-y").summary == ""


def test_bad_input_never_corrupts_what_is_stored(engine: sa.Engine, tmp_path: Path) -> None:
    good = tmp_path / "a.json"
    good.write_text(json.dumps(osv("GHSA-z", summary="kept")))
    import_paths(engine, [good])
    bad = tmp_path / "b.json"
    broken = osv("GHSA-z", modified="2030-01-01T00:00:00Z")
    broken["affected"][0]["ranges"][0]["events"] = [{"fixed": "1.0"}]
    bad.write_text(json.dumps([broken, osv("GHSA-w")]))
    report = import_paths(engine, [bad])
    assert report.new == 1 and [s.record_id for s in report.skipped] == ["GHSA-z"]
    assert get_advisory(engine, "GHSA-z").summary == "kept"


def test_unstorable_documents_are_skipped(engine: sa.Engine, tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_text(BINARY_YAML)
    (tmp_path / "ok.json").write_text(json.dumps(osv("GHSA-ok")))
    report = import_paths(engine, [tmp_path])
    assert report.new == 1 and [s.record_id for s in report.skipped] == ["Y-1"]


def test_duplicate_ids_with_conflicting_content(engine: sa.Engine, tmp_path: Path) -> None:
    (tmp_path / "1.json").write_text(json.dumps(osv("GHSA-d", summary="first")))
    (tmp_path / "2.json").write_text(json.dumps(osv("GHSA-d", summary="second")))
    (tmp_path / "3.json").write_text(json.dumps(osv("GHSA-d", summary="first")))
    report = import_paths(engine, [tmp_path])
    assert (report.new, report.unchanged) == (1, 1)
    (skipped,) = report.skipped
    assert skipped.origin == str(tmp_path / "2.json") and skipped.record_id == "GHSA-d"
    assert f"first read from {tmp_path / '1.json'}" in skipped.reason
    assert get_advisory(engine, "GHSA-d").summary == "first"


def test_feed_state_round_trip(engine: sa.Engine) -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:
        assert get_feed_state(conn, "ghsa") == FeedState("ghsa")
        save_feed_state(
            conn,
            FeedState("ghsa", cursor="2026-03-20T00:00:00Z", etag='W/"1"', last_attempt_at=now),
        )
        save_feed_state(
            conn, FeedState("ghsa", cursor="c2", etag=None, last_success_at=now, last_error=None)
        )
    (state,) = feed_states(engine)
    assert state == FeedState("ghsa", cursor="c2", last_success_at=now)


def test_kev_rows_feed_the_index(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "rec.json"
    path.write_text(json.dumps(osv("GHSA-k", aliases=["CVE-2025-30066"])))
    import_paths(engine, [path])
    row = {
        "cve_id": "CVE-2025-30066",
        "vendor_project": "tj-actions",
        "product": "changed-files",
        "name": "tj-actions/changed-files Embedded Malicious Code Vulnerability",
        "date_added": date(2025, 3, 18),
        "due_date": date(2025, 4, 8),
        "ransomware": "Unknown",
        "catalog_version": "2025.08.25",
    }
    with engine.begin() as conn:
        assert replace_kev(conn, [row]) == 1
    (match,) = load_index(engine).match("PyPI", "demo", "0.1")
    assert match.known_exploited and match.severity == "CRITICAL"


def test_updates_keep_first_seen_at(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "rec.json"
    first, later = datetime(2026, 3, 19, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC)
    path.write_text(json.dumps(osv("GHSA-t")))
    ingest(engine, read_paths([path], source="t"), now=first)
    path.write_text(json.dumps(osv("GHSA-t", modified="2026-03-20T00:00:00Z")))
    assert ingest(engine, read_paths([path], source="t"), now=later).updated == 1
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(advisory_table.c.first_seen_at, advisory_table.c.updated_at)
        ).one()
    assert [t if t.tzinfo else t.replace(tzinfo=UTC) for t in row] == [first, later]


def test_import_settings_stay_with_the_import(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'settings.db'}", poolclass=sa.pool.StaticPool)
    create_tables(engine)
    names = ("synchronous", "cache_size", "wal_autocheckpoint")
    with engine.connect() as conn:
        before = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names]
    assert import_paths(engine, [OSV_FIXTURES], source="fixtures").new == 38
    with engine.connect() as conn:
        assert [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names] == before
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_import_works_when_the_engine_begins_its_own_transactions(tmp_path: Path) -> None:
    # As the daemon's engine does: the driver's implicit BEGIN replaced by BEGIN IMMEDIATE.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'immediate.db'}")

    @sa.event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    create_tables(engine)
    assert import_paths(engine, [OSV_FIXTURES], source="fixtures").new == 38
    assert import_paths(engine, [OSV_FIXTURES], source="fixtures").unchanged == 38


def test_reading_and_storing_import_no_network_client() -> None:
    """`import advisories` (local import, matching) loads neither httpx nor feedparser; the
    clients and the feed sync come with the first use of their names."""
    script = (
        "import sys\n"
        "import advisories\n"
        "from advisories import import_paths, load_index, feed_hits\n"
        "assert not {'httpx', 'feedparser'} & set(sys.modules), sorted(sys.modules)\n"
        "from advisories import FeedSpec, GhsaClient, OsvApiClient\n"
        "assert {'httpx', 'advisories.sync'} <= set(sys.modules)\n"
        "assert advisories.sync_feed is advisories.sync.sync_feed\n"
        "assert all(hasattr(advisories, name) for name in advisories.__all__)\n"
    )
    run_python(script)
