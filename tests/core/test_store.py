"""The store on SQLite and PostgreSQL 15: migrations, inventory, overrides, tokens, audit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect, select
from sqlmodel import Session

from verifier.audit import AuditBuffer, AuditRecord, query_audit
from verifier.config import Config
from verifier.errors import NotFoundError
from verifier.incidents import (
    IncidentKind,
    Severity,
    list_incidents,
    record_incident,
    resolve_incident,
)
from verifier.inventory import add_override, list_overrides, revoke_override, sync_tools
from verifier.policy import Query
from verifier.snapshot import build_snapshot
from verifier.store.engine import create_store_engine
from verifier.store.migrate import current_revision, head_revision, upgrade
from verifier.store.models import ApiTokenRow, EventRow, ReleaseRow
from verifier.store.revision import read_revision
from verifier.tokens import Scope, create_token, hash_token, list_tokens, load_tokens, revoke_token

GOOD = "a" * 64


@pytest.fixture
def config(write_config: Callable[..., Config], store_url: str) -> Config:
    return write_config(store_url)


def revision(engine: Engine) -> int:
    with engine.connect() as connection:
        return read_revision(connection)


def test_migrations_are_idempotent_and_at_head(engine: Engine):
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_the_audit_log_keeps_an_index_for_each_reader(engine: Engine):
    """Each index costs every appended answer (4-5 us of CPU on SQLite), and each has a reader:
    (at) time windows and audit pages, (tool, at) one tool's audit pages, (tool, version) the
    exposure of one version. On a log where one tool has most rows, a missing one turns a
    lookup into a scan or a sort of that tool's rows (bench/decision_api.py's docstring)."""
    indexes = {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes("decision_log")}
    assert indexes == {("at",), ("tool", "at"), ("tool", "version")}


def test_sync_tools_adds_updates_and_removes(engine: Engine, config: Config, write_config):
    first = sync_tools(engine, config)
    assert set(first.added) == {"trivy", "aquasecurity/trivy-action", "cosign"}
    assert not sync_tools(engine, config).changed
    before = revision(engine)
    smaller = config.model_copy(update={"tools": config.tools[:1]})
    report = sync_tools(engine, smaller)
    assert set(report.removed) == {"aquasecurity/trivy-action", "cosign"}
    assert revision(engine) == before + 1


def test_overrides_are_audited_and_bump_the_revision(engine: Engine, config: Config):
    sync_tools(engine, config)
    before = revision(engine)
    approve_id = add_override(
        engine,
        kind="approve",
        tool="trivy",
        actor="alice",
        reason="verified by hand",
        version="0.69.3",
        sha256=GOOD.upper(),
    )
    block_id = add_override(
        engine,
        kind="block",
        tool="trivy",
        actor="bob",
        reason="incident",
        version="0.69.4",
        expires_in=timedelta(days=7),
    )
    assert revision(engine) == before + 2
    rows = {row.id: row for row in list_overrides(engine)}
    assert rows[approve_id].sha256 == GOOD  # normalised to lower case
    assert rows[block_id].expires_at is not None
    assert rows[block_id].expires_at.tzinfo is not None
    with Session(engine) as session:
        events = session.scalars(
            select(EventRow).where(EventRow.action.in_(["approve", "block"]))
        ).all()
    assert {(e.actor, e.action) for e in events} == {("alice", "approve"), ("bob", "block")}
    revoke_override(engine, block_id, "carol", "false alarm")
    assert [row.id for row in list_overrides(engine)] == [approve_id]
    assert len(list_overrides(engine, include_inactive=True)) == 2
    with pytest.raises(NotFoundError):
        revoke_override(engine, block_id, "carol", "again")


def test_override_for_unknown_tool_or_without_reason_is_refused(engine: Engine, config: Config):
    sync_tools(engine, config)
    with pytest.raises(NotFoundError, match="not in the inventory"):
        add_override(engine, kind="block", tool="nope", actor="a", reason="x")
    with pytest.raises(ValueError, match="reason is required"):
        add_override(engine, kind="block", tool="trivy", actor="a", reason="  ")


def test_tokens_are_stored_hashed_scoped_and_revocable(engine: Engine):
    token = create_token(engine, "runner-eu-1", {Scope.CHECK}, "admin")
    assert token.startswith("tg_") and len(token) > 40
    with Session(engine) as session:
        row = session.scalars(select(ApiTokenRow)).one()
        assert row.token_hash == hash_token(token) and token not in row.token_hash
        tokens = load_tokens(session)
    assert tokens[hash_token(token)].allows(Scope.CHECK)
    assert not tokens[hash_token(token)].allows(Scope.ADMIN)
    with pytest.raises(ValueError, match="already exists"):
        create_token(engine, "runner-eu-1", {Scope.CHECK}, "admin")
    revoke_token(engine, "runner-eu-1", "admin")
    with Session(engine) as session:
        assert load_tokens(session) == {}
    assert list_tokens(engine)[0].revoked_at is not None
    with pytest.raises(NotFoundError):
        revoke_token(engine, "runner-eu-1", "admin")


def test_snapshot_reflects_store_facts(engine: Engine, config: Config):
    sync_tools(engine, config)
    with Session(engine) as session:
        session.add(
            ReleaseRow(
                tool="trivy",
                version="0.69.3",
                status="verified",
                first_seen_at=datetime.now(UTC) - timedelta(days=9),
            )
        )
        session.commit()
    snapshot = build_snapshot(engine, config)
    assert snapshot.revision == revision(engine)
    answer = snapshot.answer(Query("trivy", "0.69.3"))
    assert answer.decision.outcome == "allow"
    assert snapshot.newest["trivy"] == "0.69.3"
    assert snapshot.answer(Query("trivy", "0.69.3")) is answer  # memoised


def test_snapshot_recomputes_when_a_block_expires(engine: Engine, config: Config):
    sync_tools(engine, config)
    add_override(
        engine, kind="approve", tool="trivy", actor="a", reason="ok", version="0.69.3", sha256=GOOD
    )
    add_override(
        engine,
        kind="block",
        tool="trivy",
        actor="a",
        reason="hold",
        version="0.69.3",
        expires_in=timedelta(hours=1),
    )
    snapshot = build_snapshot(engine, config)
    assert snapshot.answer(Query("trivy", "0.69.3")).decision.outcome == "deny"
    assert snapshot.valid_until is not None
    later = snapshot.valid_until + timedelta(seconds=1)
    assert snapshot.expired(later)
    assert snapshot.advance(later).answer(Query("trivy", "0.69.3")).decision.outcome == "allow"


def record(tool: str, decision: str, at: datetime, would_deny: bool = False) -> AuditRecord:
    return AuditRecord(
        at,
        "runner-eu-1",
        "gh-42",
        "https://ci/job/1",
        tool,
        "0.69.4",
        None,
        None,
        decision,
        would_deny,
        "[]",
        3,
    )


def test_audit_buffer_writes_in_batches_and_queries(engine: Engine):
    buffer = AuditBuffer(engine, limit=1000)
    now = datetime.now(UTC)
    buffer.append(record("trivy", "deny", now - timedelta(days=2)))
    buffer.append(record("trivy", "warn", now, would_deny=True))
    buffer.append(record("cosign", "allow", now))
    assert asyncio.run(buffer.flush()) == 3
    assert len(buffer) == 0
    assert len(query_audit(engine, tool="trivy")) == 2
    assert len(query_audit(engine, tool="trivy", since=now - timedelta(hours=1))) == 1
    (would,) = query_audit(engine, would_deny=True)
    assert (would.decision, would.runner, would.job) == ("warn", "gh-42", "https://ci/job/1")
    assert [row.at for row in query_audit(engine, tool="trivy")] == [now, now - timedelta(days=2)]


@pytest.mark.postgres
def test_a_batch_postgres_refuses_is_kept_with_the_error(pg_database: Callable[[], str]):
    """The store's refusal (here a runner name over its column's 200 characters, which only
    PostgreSQL enforces) fails the whole batch: nothing written, every record kept."""
    engine = create_store_engine(pg_database())
    upgrade(engine)
    buffer = AuditBuffer(engine, limit=1000)
    now = datetime.now(UTC)
    buffer.append(record("trivy", "allow", now))
    buffer.append(replace(record("cosign", "allow", now), runner="r" * 201))
    assert asyncio.run(buffer.flush()) == 0
    assert len(buffer) == 2 and buffer.last_error and "too long" in buffer.last_error
    assert query_audit(engine) == []
    engine.dispose()


def test_a_full_audit_buffer_makes_answers_wait_instead_of_dropping(engine: Engine):
    buffer = AuditBuffer(engine, limit=1000)
    now = datetime.now(UTC)
    for _ in range(999):
        buffer.append(record("trivy", "deny", now))
    assert not buffer.must_flush_now
    for _ in range(6):
        buffer.append(record("trivy", "deny", now))
    assert (len(buffer), buffer.dropped, buffer.must_flush_now) == (1005, 0, True)
    assert asyncio.run(buffer.flush()) == 1005
    assert AuditBuffer(engine, limit=1000, durable=True).must_flush_now


def test_while_the_store_is_unreachable_the_buffer_is_bounded_and_counts_drops(tmp_path):
    unreachable = create_store_engine(f"sqlite:///{tmp_path / 'missing-schema.db'}")
    buffer = AuditBuffer(unreachable, limit=1000)
    now = datetime.now(UTC)
    buffer.append(record("trivy", "deny", now))
    assert asyncio.run(buffer.flush()) == 0 and buffer.last_error  # no decision_log table
    for _ in range(1004):
        buffer.append(record("trivy", "deny", now))
    assert (len(buffer), buffer.dropped, buffer.must_flush_now) == (1000, 5, False)


def test_incidents_are_deduplicated_and_material_changes_recorded(engine: Engine, config: Config):
    def record(severity: Severity, detail: dict) -> str:
        with Session(engine) as session:
            change = record_incident(
                session,
                kind=IncidentKind.TAG_MOVED,
                tool="aquasecurity/trivy-action",
                version="0.33.1",
                severity=severity,
                summary="tag 0.33.1 moved",
                detail=detail,
                dedupe_key="tag-moved:aquasecurity/trivy-action:0.33.1:deadbeef",
            )
            session.commit()
            return change.outcome

    assert record(Severity.HIGH, {"from": "a", "to": "b"}) == "new"
    assert record(Severity.HIGH, {"to": "b", "from": "a"}) == "unchanged"
    assert record(Severity.CRITICAL, {"from": "a", "to": "b"}) == "changed"
    with Session(engine) as session:
        (incident,) = list_incidents(session)
        assert incident.severity == "critical"
        assert resolve_incident(session, incident.dedupe_key)
        session.commit()
        assert list_incidents(session) == []
    assert record(Severity.CRITICAL, {"from": "a", "to": "b"}) == "changed"  # reopened


def test_a_manual_block_opens_an_incident(engine: Engine, config: Config):
    sync_tools(engine, config)
    block_id = add_override(
        engine, kind="block", tool="trivy", actor="bob", reason="poisoned", version="0.69.4"
    )
    with Session(engine) as session:
        (incident,) = list_incidents(session)
    assert (incident.kind, incident.tool, incident.version) == ("manual-block", "trivy", "0.69.4")
    assert incident.dedupe_key == f"manual-block:{block_id}" and "poisoned" in incident.summary
