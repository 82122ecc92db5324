"""Leases on both backends: due once per interval, one winner among racing replicas, takeover
after a crashed holder's lease runs out, give-back on finish, failure and shutdown."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from tests.replicas.conftest import replica_config
from verifier.config import load_config
from verifier.errors import ConfigError
from verifier.leases import Leaser, claim_due, finish, release, renew
from verifier.store.models import LeaseRow

T0 = datetime(2026, 3, 19, 18, 22, tzinfo=UTC)
INTERVAL, LEASE = timedelta(minutes=15), timedelta(minutes=2)


def claim(engine: Engine, holder: str, now: datetime, **options: bool) -> bool:
    return claim_due(engine, "watch:trivy", holder, INTERVAL, LEASE, now, **options)


def row(engine: Engine, name: str = "watch:trivy") -> LeaseRow:
    with engine.connect() as connection:
        found = connection.execute(select(LeaseRow).where(LeaseRow.name == name)).first()
    assert found is not None
    return LeaseRow.model_validate(found._mapping)


def test_work_is_claimed_once_and_due_again_one_interval_after_the_claim(engine):
    assert claim(engine, "a", T0)
    assert not claim(engine, "b", T0 + timedelta(seconds=1))  # held
    assert finish(engine, "watch:trivy", "a", T0 + timedelta(seconds=30))
    assert not claim(engine, "b", T0 + timedelta(minutes=1))  # done, not due yet
    assert not claim(engine, "a", T0 + INTERVAL - timedelta(seconds=1))
    assert claim(engine, "b", T0 + INTERVAL)
    stored = row(engine)
    assert (stored.holder, stored.next_due_at) == ("b", T0 + 2 * INTERVAL)
    assert stored.last_done_at == T0 + timedelta(seconds=30)


def test_a_crashed_holders_work_is_taken_over_once_its_lease_ran_out(engine):
    assert claim(engine, "crashed", T0)
    assert not claim(engine, "b", T0 + LEASE - timedelta(seconds=1))
    assert claim(engine, "b", T0 + LEASE)  # not due for 15 minutes, but never finished
    assert not finish(engine, "watch:trivy", "crashed", T0 + LEASE)  # too late: not its own
    assert renew(engine, "crashed", LEASE, T0 + LEASE) == 0
    assert finish(engine, "watch:trivy", "b", T0 + LEASE)


def test_renewal_keeps_work_from_being_taken_over(engine):
    assert claim(engine, "a", T0)
    assert renew(engine, "a", LEASE, T0 + timedelta(minutes=1)) == 1
    assert not claim(engine, "b", T0 + LEASE)
    assert claim(engine, "b", T0 + timedelta(minutes=3))


def test_released_work_is_due_again_at_once(engine):
    assert claim(engine, "a", T0)
    assert release(engine, "a", T0 + timedelta(seconds=5)) == 1
    assert claim(engine, "b", T0 + timedelta(seconds=5))


def test_force_ignores_the_due_time_but_not_a_live_holder(engine):
    assert claim(engine, "a", T0)
    assert not claim(engine, "cli", T0 + timedelta(seconds=1), force=True)
    finish(engine, "watch:trivy", "a", T0 + timedelta(seconds=2))
    assert claim(engine, "cli", T0 + timedelta(seconds=3), force=True)


def test_racing_replicas_have_exactly_one_winner(engine):
    """Eight threads (replicas) claim the same work at the same instant, twenty times over."""
    barrier = threading.Barrier(8)

    def race(holder: int, name: str) -> bool:
        barrier.wait()
        return claim_due(engine, name, f"replica-{holder}", INTERVAL, LEASE, T0)

    with ThreadPoolExecutor(8) as pool:
        for round_ in range(20):
            name = f"feed:osv-{round_}"
            wins = list(pool.map(race, range(8), [name] * 8))
            assert wins.count(True) == 1, wins
            winner = f"replica-{wins.index(True)}"
            assert row(engine, name).holder == winner


def test_hold_finishes_done_work_and_releases_failed_work(engine):
    first, second = Leaser(engine, LEASE), Leaser(engine, LEASE)
    with first.hold("feed:kev", INTERVAL) as mine:
        assert mine
        with second.hold("feed:kev", INTERVAL) as theirs:
            assert not theirs
    assert row(engine, "feed:kev").holder is None
    with second.hold("feed:kev", INTERVAL) as theirs:
        assert not theirs  # finished: not due for an interval
    with pytest.raises(RuntimeError), first.hold("feed:ghsa", INTERVAL) as mine:
        assert mine
        raise RuntimeError("the sync broke")
    with second.hold("feed:ghsa", INTERVAL) as theirs:
        assert theirs  # released: due at once


def test_hold_renews_a_lease_shorter_than_the_work(engine):
    short = timedelta(milliseconds=300)
    worker, other = Leaser(engine, short), Leaser(engine, short)
    with worker.hold("watch:cosign", INTERVAL) as mine:
        assert mine
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            with other.hold("watch:cosign", INTERVAL, force=True) as theirs:
                assert not theirs
            time.sleep(0.05)


def test_release_all_gives_back_everything_a_process_holds(engine):
    leaser = Leaser(engine, LEASE)
    for name in ("watch:trivy", "watch:cosign"):
        assert claim_due(engine, name, leaser.holder, INTERVAL, LEASE, datetime.now(UTC))
    assert leaser.release_all() == 2
    assert claim_due(engine, "watch:cosign", "other", INTERVAL, LEASE, datetime.now(UTC))


def test_a_lease_under_a_second_is_a_configuration_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(replica_config("sqlite:///toolgate.db", server='lease = "500ms"'))
    with pytest.raises(ConfigError, match=r"config.toml:\d+: server.lease: .*shorter than 1s"):
        load_config(path)
