"""Two real `toolgate serve` processes on one PostgreSQL database: a fact written through one is
answered by the other within a second, an upstream is polled once per interval between them,
an alert is mailed once, and work held by a replica killed with SIGKILL is taken over by the
other once its lease runs out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from advisories import feed_states
from tests.advisories.loopback import Request, Response, serve
from tests.alerts.conftest import MailHandler
from tests.conftest import free_port, wait_until
from tests.replicas.conftest import Pair, Replica
from verifier.demo.upstream import FakeGitHub
from verifier.store.engine import create_store_engine
from verifier.store.models import LeaseRow
from verifier.tokens import Scope

pytestmark = pytest.mark.postgres

RECORD = Path(__file__).parents[1] / "data" / "osv-trivy-2026" / "GHSA-69fq-xp46-6x23.json"
DIGEST = "ab" * 32


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` every 10 ms until it holds; fails after `timeout` (a generous deadline,
    never a measured duration)."""
    wait_until(condition, what, timeout)


def decision(replica: Replica, token: str, version: str) -> dict[str, object]:
    with replica.client(token) as client:
        response = client.get("/v1/decision", params={"tool": "trivy", "version": version})
    assert response.status_code == 200, response.text
    return response.json()


def override(replica: Replica, token: str, kind: str, version: str) -> None:
    body = {"kind": kind, "tool": "trivy", "version": version, "reason": f"{kind} by test"}
    if kind == "approve":
        body["sha256"] = DIGEST
    with replica.client(token) as client:
        response = client.post("/v1/overrides", json=body)
    assert response.status_code == 201, response.text


def tokens(pair: Pair) -> tuple[str, str]:
    """An admin token and a check token, once both replicas know them."""
    admin, check = pair.token("ops", Scope.ADMIN), pair.token("runner", Scope.CHECK)
    for replica in (pair.a, pair.b):

        def known(replica: Replica = replica) -> bool:
            with replica.client(check) as client:
                return client.get("/v1/decision?tool=trivy&version=1").status_code == 200

        wait_for(known, 30, f"replica {replica.name} learning the new token")
    return admin, check


def test_a_block_made_through_one_replica_is_answered_deny_by_the_other_on_notification(
    replicas: Callable[..., Pair],
):
    # Polling every hour never gets there within the deadline: the notification must do it.
    pair = replicas(server='snapshot_interval = "1h"')
    admin, check = tokens(pair)
    for version in ("0.69.1", "0.69.2", "0.69.3"):

        def answer(version: str = version) -> object:
            return decision(pair.b, check, version)["decision"]

        override(pair.a, admin, "approve", version)
        wait_for(lambda: answer() == "allow", 30, "the approval")
        override(pair.a, admin, "block", version)
        wait_for(lambda: answer() == "deny", 30, "the block")
        codes = [reason["code"] for reason in decision(pair.b, check, version)["reasons"]]
        assert "manual-block" in codes, version


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    github = FakeGitHub().start()
    for repo in ("aquasecurity/trivy", "aquasecurity/trivy-action", "sigstore/cosign"):
        github.repo(repo)
    yield github
    github.stop()


def test_each_upstream_is_polled_once_per_interval_between_the_replicas(
    replicas: Callable[..., Pair], fake_github: FakeGitHub
):
    interval, window = 2.0, 6.0
    replicas(
        server='lease = "2s"',
        github=f'api_url = "{fake_github.url}"\npoll_interval = "{interval:.0f}s"',
    )
    before = len(fake_github.requests)
    time.sleep(window)
    during = fake_github.requests[before:]
    listings = {
        "trivy": "/repos/aquasecurity/trivy/releases",
        "cosign": "/repos/sigstore/cosign/releases",
        "trivy-action": "/repos/aquasecurity/trivy-action/git/matching-refs/tags",
    }
    counts = {tool: sum(r.path.startswith(p) for r in during) for tool, p in listings.items()}
    # One replica's worth: polls start at least `interval` apart (two unleased replicas: ~6).
    for tool, polls in counts.items():
        assert 2 <= polls <= window / interval + 1, (tool, counts)


@pytest.fixture
def mail_sink() -> Iterator[tuple[int, MailHandler]]:
    handler, port = MailHandler(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    yield port, handler
    controller.stop()


def test_an_alert_is_mailed_once_between_the_replicas(
    replicas: Callable[..., Pair], mail_sink: tuple[int, MailHandler]
):
    port, mailbox = mail_sink
    pair = replicas(
        extra=f"""
[alerts]
poll_interval = "300ms"

[alerts.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "toolgate <toolgate@example.org>"

[[alerts.route]]
to = ["secops@example.org"]
""",
    )
    admin, _check = tokens(pair)
    versions = ("0.69.4", "0.69.5", "0.69.6")
    for replica, version in zip((pair.a, pair.b, pair.a), versions, strict=True):
        override(replica, admin, "block", version)
    wait_for(lambda: len(mailbox.received) >= len(versions), 30, "the alert mails")
    time.sleep(2.0)  # several more passes of both senders: nothing else may arrive
    subjects = sorted(str(r.message["Subject"]) for r in mailbox.received)
    assert len(subjects) == len(versions), subjects
    for version, subject in zip(versions, subjects, strict=True):
        assert f"trivy {version}" in subject
    assert len(set(mailbox.message_ids())) == len(versions)


def test_work_of_a_replica_killed_mid_lease_is_taken_over_when_the_lease_runs_out(
    replicas: Callable[..., Pair],
):
    record, first_held, arrivals = RECORD.read_bytes(), threading.Event(), []

    def feed(_request: Request) -> Response:
        arrivals.append(datetime.now(UTC))
        if len(arrivals) == 1:  # replica A's sync hangs here until it is killed
            first_held.wait(30)
        return Response(200, record, {"Content-Type": "application/json"})

    with serve(feed) as server:
        try:
            pair = replicas(
                start_b=False,
                server='lease = "2s"',
                extra=f"""
[[feed]]
name = "osv-slow"
type = "osv"
url = "{server.url}/GHSA-69fq-xp46-6x23.json"
interval = "1h"
""",
            )
            engine = create_store_engine(pair.store_url)

            def lease() -> LeaseRow | None:
                with engine.connect() as connection:
                    row = connection.execute(
                        select(LeaseRow).where(LeaseRow.name == "feed:osv-slow")
                    )
                    found = row.first()
                return None if found is None else LeaseRow.model_validate(found._mapping)

            wait_for(lambda: len(arrivals) == 1, 30, "replica A starting the sync")
            held = lease()
            assert held is not None and held.holder is not None
            assert f":{pair.a.pid}:" in held.holder
            pair.b.start(timeout=30)
            time.sleep(1.5)  # B looks every second; A renews its lease meanwhile
            assert len(arrivals) == 1, "B synced a feed A was syncing"
            pair.a.kill()
            expired_at = lease().expires_at  # type: ignore[union-attr]
            wait_for(lambda: len(arrivals) == 2, 30, "replica B taking the sync over")
            assert expired_at is not None and arrivals[1] >= expired_at
            wait_for(lambda: lease().last_done_at is not None, 30, "B finishing the sync")
            state = next(s for s in feed_states(engine) if s.feed == "osv-slow")
            assert state.last_success_at is not None and state.last_error is None
            assert lease().holder is None  # type: ignore[union-attr]
            engine.dispose()
        finally:
            first_held.set()
