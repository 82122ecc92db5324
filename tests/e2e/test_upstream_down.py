"""Upstream down "for an hour" (1 s polls and feeds with a 3 s max_age stand in for it):
decisions keep being served from the store, across a restart too; /readyz says degraded and
names the tools it cannot poll and the stale feeds, one feed-stale alert per feed is mailed (not
again after the restart); all recovers after."""

from __future__ import annotations

import time

from tests.e2e.conftest import codes
from verifier.demo.scenario import LINUX_64, commit_sha

ASSET = LINUX_64.format(version="0.69.3")
WATCHED = ("actions/checkout", "aquasecurity/setup-trivy", "aquasecurity/trivy-action", "trivy")


def short_max_age(text: str) -> str:
    return text.replace('\ninterval = "1s"\n', '\ninterval = "1s"\nmax_age = "3s"\n')


def wait_ready(run, status: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while (ready := run.client.readyz())["status"] != status:
        assert time.monotonic() < deadline, ready
        time.sleep(0.1)
    return ready


def test_decisions_keep_serving_while_upstream_is_down_and_staleness_is_reported(e2e):
    run = e2e(short_max_age)
    run.start()
    run.wait_for("trivy", "v0.69.3", "allow")
    digest = run.world.digest(LINUX_64, "0.69.3")
    allowed = run.ask("trivy", "0.69.3", sha256=digest, asset=ASSET)
    assert allowed["decision"] == "allow"
    assert wait_ready(run, "ready")["stale_feeds"] == []

    run.stack.github.down = run.stack.feeds.down = True
    deadline = time.monotonic() + 20
    while not (degraded := run.client.readyz())["stale_upstreams"]:
        assert time.monotonic() < deadline, degraded
        time.sleep(0.1)
    assert degraded["status"] == "degraded"
    assert degraded["stale_upstreams"] == sorted(WATCHED)  # polls failing for over 2 intervals
    assert sorted(wait_ready(run, "degraded")["stale_feeds"]) == ["github-advisories", "osv"]
    run.stack.mailbox.wait_for("github-advisories", "osv")
    stale_mail = [m.subject for m in run.mail if "has not synced" in m.subject]
    assert len(stale_mail) == 2, stale_mail
    assert all(s.startswith("NOTICE advisory feed ") for s in stale_mail), stale_mail

    for restart in (True, False):  # before and after a restart while upstream is still down
        again = run.ask("trivy", "0.69.3", sha256=digest, asset=ASSET)
        assert (again["decision"], again["sha256"]) == ("allow", digest)
        assert codes(run.ask("trivy", "0.69.4")) == ["unknown-version"]
        assert run.ask("aquasecurity/trivy-action", "0.34.2")["decision"] == "allow"
        if restart:
            run.restart()
            stale = wait_ready(run, "degraded")["stale_feeds"]
            assert sorted(stale) == ["github-advisories", "osv"]
    time.sleep(1.0)
    assert [m.subject for m in run.mail if "has not synced" in m.subject] == stale_mail

    run.world.release("aquasecurity/trivy", "v0.69.5", commit_sha("trivy-0.69.3"))
    run.stack.github.down = run.stack.feeds.down = False
    recovered = wait_ready(run, "ready")
    assert (recovered["stale_feeds"], recovered["stale_upstreams"]) == ([], [])
    run.wait_for("trivy", "v0.69.5", "allow")  # released while GitHub was down, verified after
