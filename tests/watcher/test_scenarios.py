"""Issue 4's scenarios end to end: fake GitHub → watcher → store → the real decision API."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from tests.watcher.conftest import (
    ACTION_REPO,
    ASSET,
    FORK_COMMIT,
    GOOD_COMMIT,
    REPO,
    SOURCE_COMMIT,
    WHEEL,
    WHEEL_SHA256,
    WORKFLOW,
    codes,
    rfc8785_tool,
    signed_release_files,
)
from verifier.store.models import IncidentRow, ReleaseRow


@pytest.fixture
def signed(rig):
    """The signed wheel released as v0.1.2, its commit on main."""

    def start(tools: str | None = None, **options):
        r = rig(rfc8785_tool() if tools is None else tools, **options)
        r.github.add_commit(REPO, SOURCE_COMMIT)
        return r

    return start


def release_row(rig, tool: str, version: str) -> ReleaseRow:
    with Session(rig.server.engine) as session:
        return session.scalars(
            select(ReleaseRow).where(ReleaseRow.tool == tool, ReleaseRow.version == version)
        ).one()


def incidents(rig) -> list[str]:
    with Session(rig.server.engine) as session:
        return sorted(row.kind for row in session.scalars(select(IncidentRow)))


def test_signed_release_is_verified_with_evidence_and_allowed(signed):
    rig = signed()
    rig.github.add_release(REPO, "v0.1.2", signed_release_files())
    report = rig.poll("rfc8785")["rfc8785"]
    assert (report.new, report.verified, report.rejected) == (["v0.1.2"], ["v0.1.2"], [])
    body = rig.decide("rfc8785", "0.1.2")
    assert (body["decision"], body["sha256"]) == ("allow", WHEEL_SHA256)
    assert rig.decide("rfc8785", "v0.1.2", sha256=WHEEL_SHA256)["decision"] == "allow"
    row = release_row(rig, "rfc8785", "v0.1.2")
    evidence = json.loads(row.evidence_json)
    signature = evidence["signatures"][ASSET]
    assert signature["signer"] == f"{WORKFLOW}@refs/tags/v0.1.2"
    assert signature["issuer"] == "https://token.actions.githubusercontent.com"
    assert signature["source_commit"] == SOURCE_COMMIT == row.commit
    assert signature["rekor_log_index"] == 79605083
    assert signature["integrated_time"] == "2024-03-19T22:41:16Z"
    assert evidence["assets"][ASSET]["checksum_source"] == "SHA256SUMS line 1"
    assert evidence["source_branch"] == "main"


def test_wrong_identity_is_denied_identity_mismatch(signed):
    rig = signed(rfc8785_tool(identity=f"https://github.com/{REPO}/.github/workflows/other.yml"))
    rig.github.add_release(REPO, "v0.1.2", signed_release_files())
    assert rig.poll("rfc8785")["rfc8785"].rejected == ["v0.1.2"]
    body = rig.decide("rfc8785", "0.1.2")
    assert body["decision"] == "deny"
    assert codes(body) == ["identity-mismatch"]
    assert "other.yml" in body["reasons"][0]["expected"]
    assert "release.yml@refs/tags/v0.1.2" in body["reasons"][0]["found"]
    assert incidents(rig) == ["verification-failed"]


def test_unsigned_release_is_denied_unsigned(signed):
    rig = signed()
    rig.github.add_release(REPO, "v0.1.2", signed_release_files(bundle=False))
    rig.poll("rfc8785")
    body = rig.decide("rfc8785", "0.1.2")
    assert (body["decision"], codes(body)) == ("deny", ["unsigned"])


def test_checksum_mismatch_is_denied(signed):
    rig = signed()
    rig.github.add_release(REPO, "v0.1.2", signed_release_files(checksum="0" * 64))
    rig.poll("rfc8785")
    body = rig.decide("rfc8785", "0.1.2")
    assert (body["decision"], codes(body)) == ("deny", ["checksum-mismatch"])
    assert body["reasons"][0]["expected"] == "0" * 64
    assert body["reasons"][0]["found"] == WHEEL_SHA256


def test_reuploaded_asset_denies_the_new_file_and_keeps_the_pinned_one(signed):
    rig = signed()
    rig.github.add_release(REPO, "v0.1.2", signed_release_files())
    rig.poll("rfc8785")
    evil = WHEEL + b"payload"
    rig.github.put_asset(REPO, "v0.1.2", ASSET, evil)
    report = rig.poll("rfc8785")["rfc8785"]
    assert report.incidents == ["digest-changed v0.1.2"]
    body = rig.decide("rfc8785", "0.1.2")
    assert (body["decision"], codes(body)) == ("deny", ["digest-changed"])
    assert ASSET in body["reasons"][0]["expected"] and str(len(evil)) in body["reasons"][0]["found"]
    pinned = rig.decide("rfc8785", "0.1.2", sha256=WHEEL_SHA256)
    assert (pinned["decision"], pinned["sha256"]) == ("allow", WHEEL_SHA256)
    new_digest = rig.github.repos[REPO].releases[0]["assets"][-1]["digest"].removeprefix("sha256:")
    assert rig.decide("rfc8785", "0.1.2", sha256=new_digest)["decision"] == "deny"
    assert incidents(rig) == ["digest-changed"]
    assert rig.poll("rfc8785")["rfc8785"].incidents == []  # seen again: nothing new
    # Two more files replaced in one event: the same incident, updated once.
    rig.github.put_asset(REPO, "v0.1.2", "SHA256SUMS", b"x")
    rig.github.put_asset(REPO, "v0.1.2", f"{ASSET}.sigstore.json", b"{}")
    assert rig.poll("rfc8785")["rfc8785"].incidents == ["digest-changed v0.1.2"]
    assert incidents(rig) == ["digest-changed"]


def test_moved_tag_denies_the_tag_and_keeps_the_first_commit_by_sha(rig):
    r = rig()
    r.github.add_commit(ACTION_REPO, GOOD_COMMIT)
    r.github.set_tag(ACTION_REPO, "0.35.0", GOOD_COMMIT, annotated=True)
    assert r.poll(ACTION_REPO)[ACTION_REPO].verified == ["0.35.0"]
    assert r.decide(ACTION_REPO, "0.35.0")["decision"] == "allow"
    r.github.add_commit(ACTION_REPO, FORK_COMMIT, branch=None)
    r.github.set_tag(ACTION_REPO, "0.35.0", FORK_COMMIT)
    assert r.poll(ACTION_REPO)[ACTION_REPO].incidents
    body = r.decide(ACTION_REPO, "0.35.0")
    assert body["decision"] == "deny"
    assert codes(body) == ["tag-moved", "commit-not-on-branch"]
    assert (
        GOOD_COMMIT in body["reasons"][0]["expected"] and FORK_COMMIT in body["reasons"][0]["found"]
    )
    assert r.decide(ACTION_REPO, GOOD_COMMIT)["decision"] == "allow"
    assert r.decide(ACTION_REPO, FORK_COMMIT)["decision"] == "deny"
    assert incidents(r) == ["tag-moved"]


def test_impostor_commit_is_denied_by_tag_and_by_sha(rig):
    r = rig()
    r.github.add_commit(ACTION_REPO, GOOD_COMMIT)
    r.github.set_tag(ACTION_REPO, "0.35.0", GOOD_COMMIT)
    r.github.set_tag(ACTION_REPO, "0.36.0", FORK_COMMIT)  # a commit only a fork has
    report = r.poll(ACTION_REPO)[ACTION_REPO]
    assert (report.verified, report.rejected) == (["0.35.0"], ["0.36.0"])
    for version in ("0.36.0", FORK_COMMIT):
        body = r.decide(ACTION_REPO, version)
        assert (body["decision"], codes(body)) == ("deny", ["impostor-commit"]), version
    assert r.decide(ACTION_REPO, "0" * 40)["decision"] == "deny"  # never seen: unknown-version
    assert r.decide(ACTION_REPO, GOOD_COMMIT.upper())["decision"] == "allow"


def test_signed_build_from_a_commit_off_the_protected_branch_is_denied(signed):
    rig = signed()
    rig.github.add_commit(REPO, SOURCE_COMMIT, branch="attacker-branch")
    rig.github.repos[REPO].branches["main"].discard(SOURCE_COMMIT)
    rig.github.add_release(REPO, "v0.1.2", signed_release_files())
    rig.poll("rfc8785")
    body = rig.decide("rfc8785", "0.1.2")
    assert (body["decision"], codes(body)) == ("deny", ["commit-not-on-branch"])
    assert body["reasons"][0] == {
        "code": "commit-not-on-branch",
        "expected": "a commit reachable from main",
        "found": SOURCE_COMMIT,
        "detail": f"the source commit of v0.1.2 is not reachable from a protected branch of {REPO}",
    }


def test_release_inside_its_cooldown_is_too_new(signed):
    rig = signed(cooldown="1h")
    rig.github.add_release(REPO, "v0.1.2", signed_release_files())
    rig.poll("rfc8785")
    body = rig.decide("rfc8785", "0.1.2")
    assert (body["decision"], codes(body)) == ("deny", ["too-new"])
    assert body["reasons"][0]["eligible_at"].endswith("Z")
    assert body["newest_allowed"] is None


def test_a_runner_that_fetched_the_genuine_build_is_not_told_to_rotate(signed):
    """Runner A fetches the genuine wheel by sha256; the asset is re-uploaded; runner B asks
    for the new bytes and is denied: neither needs rotating, and the incident mail says so."""
    from datetime import UTC, datetime
    from email import message_from_bytes, policy

    from typer.testing import CliRunner

    from tests.core.test_api import wait_for
    from verifier.alerts.claims import check_claim
    from verifier.alerts.message import AlertView, build_email
    from verifier.audit import query_audit
    from verifier.cli import app
    from verifier.store.models import AlertRow

    rig = signed()
    rig.github.add_release(REPO, "v0.1.2", signed_release_files())
    rig.poll("rfc8785")
    server = rig.server

    def ask(token_name: str, digest: str) -> str:
        with server.client(server.token(token_name)) as client:
            params = {"tool": "rfc8785", "version": "v0.1.2", "sha256": digest}
            headers = {"X-Toolgate-Runner": token_name}
            return client.get("/v1/decision", params=params, headers=headers).json()["decision"]

    assert ask("runner-a", WHEEL_SHA256) == "allow"
    wait_for(lambda: len(query_audit(server.engine, tool="rfc8785")) == 1)
    rig.github.put_asset(REPO, "v0.1.2", ASSET, WHEEL + b"payload")
    rig.poll("rfc8785")
    new_digest = rig.github.repos[REPO].releases[0]["assets"][-1]["digest"].removeprefix("sha256:")
    assert ask("runner-b", new_digest) == "deny"
    wait_for(lambda: len(query_audit(server.engine, tool="rfc8785")) == 2)

    config = ["--config", str(server.config.source_path)]
    result = CliRunner().invoke(app, ["exposure", "rfc8785", "0.1.2", "--json", *config])
    assert result.exit_code == 0, result.output  # denied, but nobody fetched unverified bytes
    report = json.loads(result.stdout)
    assert report["decision"] == "deny" and report["at_risk_count"] == 0
    (fetch,) = report["runners"]  # runner B was denied: not exposed
    assert (fetch["runner"], fetch["genuine"], fetch["sha256"]) == ("runner-a", True, WHEEL_SHA256)
    assert "Rotate" not in " ".join(report["advice"])
    document = CliRunner().invoke(app, ["report", "exposure", "--format", "json", *config])
    assert document.exit_code == 0, document.output
    assert json.loads(document.stdout)["exposures"] == []  # the genuine build is no exposure

    with Session(server.engine) as session:
        alert = session.scalars(select(AlertRow).where(AlertRow.kind == "digest-changed")).one()
    claim = check_claim(server.service.snapshot_at(datetime.now(UTC)), alert)
    assert claim.holds and claim.action == "deny"
    raw = build_email(
        [AlertView.of(alert, claim)],
        key=alert.dedupe_key,
        sender="toolgate@example.org",
        recipient="secops@example.org",
        now=datetime.now(UTC),
    )
    mail = message_from_bytes(raw, policy=policy.default)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "all the genuine build" in str(mail["Subject"])
    assert "the genuine build (sha256 " + WHEEL_SHA256 in text
    assert "No credential rotation is needed" in text and "Rotate every credential" not in text
    assert "runner-b" not in text
