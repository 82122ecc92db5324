"""Work that replicas race for is done once: the same incident recorded by several at the same
moment opens one incident and one alert; claims of alert deliveries never overlap."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from verifier.alerts.outbox import claim, route_alerts
from verifier.alerts.routing import Target
from verifier.incidents import IncidentKind, Severity, record_incident
from verifier.store.models import AlertDeliveryRow, AlertRow, IncidentRow

REPLICAS = 6


def record(engine: Engine, barrier: threading.Barrier, severity: Severity) -> str:
    with Session(engine) as session:
        barrier.wait()
        change = record_incident(
            session,
            kind=IncidentKind.TAG_MOVED,
            tool="aquasecurity/trivy-action",
            version="0.33.1",
            severity=severity,
            summary="tag-moved: tag 0.33.1 at a fork's commit",
            detail={"commit": "f" * 40},
            dedupe_key=f"tag-moved:aquasecurity/trivy-action:0.33.1:{'f' * 40}",
        )
        time.sleep(0.2)  # keep the transaction open while the others try
        session.commit()
        return change.outcome


def count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


# SQLite serves one process (its writers queue on one file lock); replicas share PostgreSQL.
@pytest.mark.parametrize(
    "store_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_replicas_recording_one_incident_at_once_open_it_and_alert_once(engine, store_url):
    assert store_url.startswith("postgresql")
    with ThreadPoolExecutor(REPLICAS) as pool:
        barrier = threading.Barrier(REPLICAS)
        outcomes = list(pool.map(lambda _: record(engine, barrier, Severity.HIGH), range(6)))
        assert sorted(outcomes) == ["new"] + ["unchanged"] * (REPLICAS - 1)
        assert (count(engine, IncidentRow), count(engine, AlertRow)) == (1, 1)
        barrier = threading.Barrier(REPLICAS)  # a material change, seen by all at once
        outcomes = list(pool.map(lambda _: record(engine, barrier, Severity.CRITICAL), range(6)))
        assert sorted(outcomes) == ["changed"] + ["unchanged"] * (REPLICAS - 1)
    assert (count(engine, IncidentRow), count(engine, AlertRow)) == (1, 2)


def test_senders_claiming_at_once_never_hold_the_same_delivery(engine):
    """Six senders drain 60 deliveries in batches of 4, all at once: each is claimed once, and
    each claim takes at most its batch (on PostgreSQL too, where a LIMIT in an IN sub-select
    was re-run per row and one claim took everything)."""
    with Session(engine) as session:
        record_incident(
            session,
            kind=IncidentKind.MANUAL_BLOCK,
            tool="trivy",
            version="0.69.4",
            severity=Severity.HIGH,
            summary="trivy 0.69.4 blocked",
            detail={},
            dedupe_key="manual-block:1",
        )
        session.commit()
    now = datetime.now(UTC)
    targets = [Target("email", f"ops{i}@example.org", timedelta(0)) for i in range(60)]
    assert route_alerts(engine, lambda _alert: ("deny", targets), now) == 1
    barrier = threading.Barrier(REPLICAS)

    def drain(sender: int) -> list[tuple[int | None, str]]:
        barrier.wait()
        mine: list[tuple[int | None, str]] = []
        for batch in range(1000):
            token = f"sender-{sender}:{batch}"
            claimed = claim(engine, token, now, timedelta(minutes=2), 4)
            if not claimed:
                return mine
            mine += [(item.delivery.id, token) for item in claimed]
        raise AssertionError("never drained")

    with ThreadPoolExecutor(REPLICAS) as pool:
        held = list(pool.map(drain, range(REPLICAS)))
    everything = [delivery for claims in held for delivery, _token in claims]
    assert len(everything) == len(set(everything)) == 60
    assert sum(1 for claims in held if claims) > 1  # they really shared the work
    with Session(engine) as session:
        rows = session.execute(select(AlertDeliveryRow.id, AlertDeliveryRow.lease_owner))
        owners = {delivery: token for delivery, token in rows}
    assert owners == {delivery: token for claims in held for delivery, token in claims}
    assert max(Counter(owners.values()).values()) <= 4  # no claim took more than it asked for
