"""find_exposure over a real audit log: spellings, digests, commits, decisions, grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from tests.alerts.conftest import add_fetches
from verifier.exposure import find_exposure
from verifier.store.models import DecisionLogRow, ReleaseRow

COMMIT = "1885610c" + "0" * 32
DIGEST = "e" * 64


def test_exposure_groups_jobs_and_matches_version_digest_and_commit(engine: Engine):
    start = datetime(2026, 3, 19, 18, 22, tzinfo=UTC)
    add_fetches(engine, "trivy", "0.69.4", [("ci", "r1", "job/1"), ("ci", "r1", "job/1")], at=start)
    add_fetches(engine, "trivy", "v0.69.4", [("ci", "r2", "job/2")], at=start, decision="warn")
    add_fetches(engine, "trivy", "0.69.4", [("ci", "r3", "job/3")], at=start, decision="deny")
    add_fetches(engine, "trivy", "0.69.3", [("ci", "r4", "job/4")], at=start)
    add_fetches(engine, "cosign", "0.69.4", [("ci", "r5", "job/5")], at=start)
    with Session(engine) as session:
        session.add(ReleaseRow(tool="trivy", version="v0.69.4", status="rejected", commit=COMMIT))
        session.add(
            DecisionLogRow(
                at=start + timedelta(hours=1),
                token_name="ci",
                runner="r6",
                job="job/6",
                tool="trivy",
                version="latest",
                sha256=DIGEST,
                decision="allow",
                reasons_json="[]",
                revision=1,
            )
        )
        session.commit()
        by_version = find_exposure(session, "trivy", "0.69.4")
        by_commit = find_exposure(session, "trivy", commit=COMMIT.upper())
        by_digest = find_exposure(session, "trivy", "0.69.4", sha256=DIGEST.upper())
        whole_tool = find_exposure(session, "trivy")
        nobody = find_exposure(session, "trivy", "9.9.9")

    assert [(r.runner, r.fetches) for r in by_version.runners] == [("r1", 2), ("r2", 1)]
    first = by_version.runners[0]
    assert (first.first_fetch, first.last_fetch) == (start, start + timedelta(minutes=1))
    assert first.first_fetch.tzinfo is not None
    assert by_version.describe() == "2 runners fetched it"
    assert {r.runner for r in by_commit.runners} == {"r1", "r2"}
    assert {r.runner for r in by_digest.runners} == {"r1", "r2", "r6"}
    assert {r.runner for r in whole_tool.runners} == {"r1", "r2", "r4", "r6"}
    assert by_version.key() != by_digest.key()
    assert nobody.describe() == "no runner fetched it" and nobody.first_fetch is None
