"""Each attack through the real daemon: a baseline is verified and fetched, the attack happens
upstream, the daemon must deny it with the right reason and mail one alert; then it is stopped
and started again on the same store: the answer is the same and no alert is sent twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import E2E, RUNNER, codes
from verifier.demo.scenario import (
    ADVISORY,
    LINUX_64,
    TRIVY,
    TRIVY_ACTION,
    Commit,
    PublishAdvisory,
    Tags,
    commit_sha,
)

QUIET = 1.0  # seconds of polls and alert passes after a restart that must send nothing
GOOD = commit_sha("trivy-0.69.3")  # on main
ASSET_0693 = LINUX_64.format(version="0.69.3")
RSS_EMPTY = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Vendor blog</title></channel></rss>'
)
RSS_ENTRY = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Vendor blog</title>
<item><title>Trivy 0.69.3 users: check your runners</title><link>https://blog.example/trivy</link>
<guid>https://blog.example/trivy</guid>
<description>Reports mention trivy 0.69.3.</description></item>
</channel></rss>"""


def off_branch(run: E2E) -> None:
    run.world.apply(Commit("attacker", TRIVY, branch=None))
    run.world.release(TRIVY, "v0.69.4", commit_sha("attacker"))


def unexpected_identity(run: E2E) -> None:
    run.world.release(
        TRIVY, "v0.69.4", GOOD, workflow=".github/workflows/evil.yaml", reusable=False
    )


def unsigned(run: E2E) -> None:
    run.world.release(TRIVY, "v0.69.4", GOOD, signed=False)


def checksum_mismatch(run: E2E) -> None:
    run.world.release(TRIVY, "v0.69.4", GOOD, listed_digest="0" * 64)


def reupload(run: E2E) -> None:
    run.stack.github.put_asset(TRIVY, "v0.69.3", ASSET_0693, b"a different tarball")


def tag_moved(run: E2E) -> None:
    run.world.apply(Commit("moved", TRIVY_ACTION, branch=None))
    run.world.apply(Tags(TRIVY_ACTION, ("0.34.2",), "moved"))


def impostor(run: E2E) -> None:
    run.world.apply(Commit("fork-only", TRIVY_ACTION, fork="attacker/trivy-action"))
    run.world.apply(Tags(TRIVY_ACTION, ("0.36.0",), "fork-only"))


def new_good_release(run: E2E) -> None:
    run.world.release(TRIVY, "v0.69.5", GOOD)


def advisory(run: E2E) -> None:
    run.world.apply(PublishAdvisory(ADVISORY))


def feed_entry(run: E2E) -> None:
    run.stack.feeds.put("/blog.xml", RSS_ENTRY)


def with_cooldown(text: str) -> str:
    trivy = 'advisories = ["Go:github.com/aquasecurity/trivy"]'
    return text.replace(trivy, f'{trivy}\ncooldown = "1h"', 1)


def with_short_grace(text: str) -> str:
    """Judge a release that lacks its bundles after 2 s instead of the hour uploads may take."""
    return text.replace('poll_interval = "1s"\n', 'poll_interval = "1s"\nupload_grace = "2s"\n', 1)


def with_blog(text: str) -> str:
    feed = '[[feed]]\nname = "vendor-blog"\ntype = "rss"\nurl = "$feeds/blog.xml"\ninterval = "1s"'
    return f"{text}\n{feed}\n"


def pinned_digest_stays_allowed(run: E2E) -> None:
    digest = run.world.digest(LINUX_64, "0.69.3")
    assert run.ask("trivy", "0.69.3", sha256=digest, asset=ASSET_0693)["decision"] == "allow"
    other = run.stack.github.repos[TRIVY].releases[-1]["assets"][-1]["digest"]
    assert run.ask("trivy", "0.69.3", sha256=other.removeprefix("sha256:"))["decision"] == "deny"


def pinned_commit_stays_allowed(run: E2E) -> None:
    assert run.ask(TRIVY_ACTION, commit_sha("action-0.34.2"))["decision"] == "allow"
    assert run.ask(TRIVY_ACTION, commit_sha("moved"))["decision"] == "deny"


def mail_names_the_runner(run: E2E) -> None:
    (mail,) = [m for m in run.mail if f"{TRIVY_ACTION} 0.34.2 — {ADVISORY}" in m.subject]
    assert "1 runner fetched it" in mail.subject
    assert RUNNER in mail.text() and "Rotate every credential" in mail.text()


@dataclass(frozen=True)
class Attack:
    attack: Callable[[E2E], None]
    tool: str
    version: str
    code: str
    alert: str | None  # a fragment of the alert mail's subject (None: no incident, no mail)
    decision: str = "deny"
    edit: Callable[[str], str] = lambda text: text
    check: Callable[[E2E], None] = lambda run: None


ATTACKS = {
    "signed-by-the-expected-workflow-from-an-unprotected-commit": Attack(
        off_branch, "trivy", "v0.69.4", "commit-not-on-branch", "DENY trivy v0.69.4"
    ),
    "signed-by-an-unexpected-identity": Attack(
        unexpected_identity, "trivy", "v0.69.4", "identity-mismatch", "DENY trivy v0.69.4"
    ),
    "unsigned": Attack(
        unsigned, "trivy", "v0.69.4", "unsigned", "DENY trivy v0.69.4", edit=with_short_grace
    ),
    "checksum-mismatch": Attack(
        checksum_mismatch, "trivy", "v0.69.4", "checksum-mismatch", "DENY trivy v0.69.4"
    ),
    "asset-re-uploaded-after-first-sight": Attack(
        reupload,
        "trivy",
        "v0.69.3",
        "digest-changed",
        "DENY trivy v0.69.3",
        check=pinned_digest_stays_allowed,
    ),
    "action-tag-force-moved": Attack(
        tag_moved,
        TRIVY_ACTION,
        "0.34.2",
        "tag-moved",
        f"DENY {TRIVY_ACTION} 0.34.2",
        check=pinned_commit_stays_allowed,
    ),
    "impostor-commit": Attack(
        impostor, TRIVY_ACTION, "0.36.0", "impostor-commit", f"DENY {TRIVY_ACTION} 0.36.0"
    ),
    "release-inside-cooldown": Attack(
        new_good_release, "trivy", "v0.69.5", "too-new", None, edit=with_cooldown
    ),
    "advisory-after-runners-fetched": Attack(
        advisory,
        TRIVY_ACTION,
        "0.34.2",
        "advisory",
        f"{TRIVY_ACTION} 0.34.2 — {ADVISORY}",
        check=mail_names_the_runner,
    ),
    "feed-entry-mentioning-the-tool": Attack(
        feed_entry, "trivy", "v0.69.3", "advisory", "trivy v0.69.3", "warn", edit=with_blog
    ),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_denied_alerted_once_and_survives_restarts(e2e, name: str) -> None:
    play(e2e(ATTACKS[name].edit), ATTACKS[name])


@pytest.mark.postgres
def test_on_postgresql_too(e2e, pg_database) -> None:
    case = ATTACKS["signed-by-the-expected-workflow-from-an-unprotected-commit"]
    url = pg_database()
    play(e2e(lambda text: f'{case.edit(text)}\n[store]\nurl = "{url}"\n'), case)


def play(run: E2E, case: Attack) -> None:
    """Baseline, attack, verdict and alert, restart: the same verdict and no alert twice."""
    run.stack.feeds.put("/blog.xml", RSS_EMPTY)
    run.start()
    baseline = "too-new" if case.edit is with_cooldown else "allow"
    run.wait_for("trivy", "v0.69.3", baseline)
    run.wait_for(TRIVY_ACTION, "0.34.2", "allow")
    run.ask("trivy", "0.69.3")
    run.ask(TRIVY_ACTION, "0.34.2")

    case.attack(run)
    verdict = run.wait_for(case.tool, case.version, case.code)
    answer = run.ask(case.tool, case.version)
    assert (verdict["decision"], answer["decision"]) == (case.decision, case.decision)
    assert case.code in codes(answer)
    if case.alert is not None:
        run.stack.mailbox.wait_for(case.alert)
        mailed = [m for m in run.mail if case.alert in m.subject]
        assert [m.recipients for m in mailed] == [("secops@example.org",)], mailed
        assert run.claims.checked >= 1 and run.claims.violations == []
    case.check(run)

    sent = run.sent()
    run.restart()
    again = run.wait_for(case.tool, case.version, case.code)
    time.sleep(QUIET)
    assert run.sent() == sent, "an alert was sent again after a restart"
    after = run.ask(case.tool, case.version)
    assert (again["decision"], codes(after)) == (case.decision, codes(answer))
    if case.code == "too-new":
        assert after["reasons"][0]["eligible_at"] == answer["reasons"][0]["eligible_at"]
