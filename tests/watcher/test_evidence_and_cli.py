"""Evidence regression and `toolgate accept-evidence`; `toolgate sync`; the daemon's watcher."""

from __future__ import annotations

import json
import time

from sqlmodel import Session
from typer.testing import CliRunner

from tests.core.test_api import wait_for
from tests.watcher.conftest import (
    ASSET,
    REPO,
    SOURCE_COMMIT,
    WHEEL,
    WHEEL_SHA256,
    WORKFLOW,
    codes,
    rfc8785_tool,
    sums,
)
from tests.watcher.conftest import signed_release_files as files
from verifier.alerts.outbox import enqueue_new_exposure
from verifier.audit import query_audit
from verifier.cli import app
from verifier.demo.upstream import sha256_hex
from verifier.incidents import list_incidents

ANY_TAG = rf"^{WORKFLOW.replace('.', '[.]')}@refs/tags/v[0-9.]+$"


def toolgate(rig, *args: str):
    config = str(rig.server.config.source_path)
    return CliRunner().invoke(app, [*args, "--config", config])


def test_release_without_its_checksums_file_is_held_until_accepted(rig):
    r = rig(rfc8785_tool(identity=ANY_TAG, regexp=True))
    r.github.add_commit(REPO, SOURCE_COMMIT)
    r.github.add_release(REPO, "v0.1.1", files("0.1.1"))
    r.poll()
    without_sums = {k: v for k, v in files().items() if k != "SHA256SUMS"}
    r.github.add_release(REPO, "v0.1.2", without_sums)
    report = r.poll()["rfc8785"]
    assert (report.verified, report.rejected) == ([], ["v0.1.2"])
    body = r.decide("rfc8785", "0.1.2")
    assert (body["decision"], codes(body)) == ("deny", ["evidence-changed"])
    reason = body["reasons"][0]
    assert (reason["expected"], reason["found"]) == (
        "checksums=True (as v0.1.1)",
        "checksums=False",
    )
    assert "toolgate accept-evidence rfc8785 v0.1.2" in reason["detail"]
    assert r.decide("rfc8785", "0.1.1")["decision"] == "allow"
    assert r.decide("rfc8785", "0.1.2")["newest_allowed"] == "v0.1.1"

    refused = toolgate(r, "accept-evidence", "rfc8785", "v0.1.1", "--reason", "x")
    assert refused.exit_code == 2 and "not held for evidence-changed" in refused.stderr
    accepted = toolgate(r, "accept-evidence", "rfc8785", "0.1.2", "--reason", "sums moved to SLSA")
    assert accepted.exit_code == 0, accepted.stderr
    assert "now verified" in accepted.stdout
    r.server.service.refresh()
    assert r.decide("rfc8785", "0.1.2")["decision"] == "allow"
    # Accepted: the incident is resolved, so an allowed fetch now alerts nobody, and the
    # exposure report gives no rotation steps for a version answered allow.
    with Session(r.server.engine) as session:
        assert [i.kind for i in list_incidents(session)] == []
    wait_for(lambda: len(query_audit(r.server.engine, tool="rfc8785")) >= 3)
    assert enqueue_new_exposure(r.server.engine) == 0
    exposure = toolgate(r, "exposure", "rfc8785", "0.1.2")
    assert exposure.exit_code == 0, exposure.output
    assert "now answered allow" in exposure.stdout and "Rotate" not in exposure.stdout
    # Accepted once: the next release is compared with the accepted (weaker) baseline.
    r.github.add_release(REPO, "v0.1.3", files("0.1.3"))
    assert r.poll()["rfc8785"].verified == ["v0.1.3"]


def test_sync_command_polls_verifies_and_reports(rig):
    r = rig(rfc8785_tool())
    r.github.add_commit(REPO, SOURCE_COMMIT)
    r.github.add_release(REPO, "v0.1.2", files())
    result = toolgate(r, "sync", "--tool", "rfc8785", "--json")
    assert result.exit_code == 0, result.stderr
    (report,) = json.loads(result.stdout)["tools"]
    assert (report["tool"], report["new"], report["verified"]) == (
        "rfc8785",
        ["v0.1.2"],
        ["v0.1.2"],
    )
    again = toolgate(r, "sync", "--tool", "rfc8785")
    assert again.exit_code == 0 and "unchanged" in again.stdout
    assert len(r.github.api_requests("/releases")) == 2  # one full listing, one 304
    r.server.service.refresh()
    assert r.decide("rfc8785", "0.1.2")["decision"] == "allow"


def test_sync_exits_1_on_a_rejection_and_2_on_an_unknown_tool(rig):
    r = rig(rfc8785_tool())
    r.github.add_commit(REPO, SOURCE_COMMIT)
    r.github.add_release(REPO, "v0.1.2", files(checksum="0" * 64))
    result = toolgate(r, "sync", "--tool", "rfc8785")
    assert result.exit_code == 1 and "v0.1.2" in result.stdout
    unknown = toolgate(r, "sync", "--tool", "nope")
    assert unknown.exit_code == 2 and 'tool "nope" is not in the configuration' in unknown.stderr


def test_the_daemon_watches_on_its_own(rig, fake_github):
    fake_github.add_commit(REPO, SOURCE_COMMIT)
    fake_github.add_release(REPO, "v0.1.2", files())
    github = f'api_url = "{fake_github.url}"\npoll_interval = "1s"'
    r = rig(rfc8785_tool(), github=github)
    deadline = time.monotonic() + 20
    while r.decide("rfc8785", "0.1.2")["decision"] != "allow":
        assert time.monotonic() < deadline, "the daemon did not verify the release"
        time.sleep(0.2)
    assert r.decide("rfc8785", "0.1.2", asset=ASSET)["decision"] == "allow"


def test_an_unreadable_token_file_leaves_the_daemon_serving(rig, caplog):
    github = 'api_url = "http://127.0.0.1:9"\npoll_interval = "1s"\ntoken_file = "missing"'
    r = rig(rfc8785_tool(), github=github)
    assert r.decide("rfc8785", "0.1.2")["decision"] == "deny"
    assert "release watcher not started: cannot read secret file" in caplog.text


def test_a_second_tool_on_a_watched_repository_is_judged_from_the_cached_listing(rig):
    second = rfc8785_tool().replace('name = "rfc8785"', 'name = "rfc8785-second"')
    r = rig(rfc8785_tool() + "\n" + second)
    r.github.add_commit(REPO, SOURCE_COMMIT)
    r.github.add_release(REPO, "v0.1.2", files())
    assert r.poll("rfc8785")["rfc8785"].verified == ["v0.1.2"]
    # The listing is unchanged upstream (a 304): the new tool is judged against the cache.
    report = r.poll("rfc8785-second")["rfc8785-second"]
    assert len(r.github.api_requests("/releases")) == 2
    assert (report.unchanged, report.new, report.verified) == (False, ["v0.1.2"], ["v0.1.2"])
    assert r.decide("rfc8785-second", "0.1.2")["decision"] == "allow"
    assert r.poll("rfc8785-second")["rfc8785-second"].unchanged


def test_an_approval_spelled_without_v_is_one_row_and_one_failure_names_every_file(rig):
    two_files = rfc8785_tool().replace(
        'assets = ["rfc8785-{version}-py3-none-any.whl"]',
        'assets = ["rfc8785-{version}-py3-none-any.whl", "extra-{version}.txt"]',
    )
    r = rig(two_files)
    r.github.add_commit(REPO, SOURCE_COMMIT)
    extra = b"extra file"
    unsigned = {
        ASSET: WHEEL,
        "extra-0.1.2.txt": extra,
        "SHA256SUMS": sums((ASSET, WHEEL_SHA256), ("extra-0.1.2.txt", sha256_hex(extra))),
    }
    r.github.add_release(REPO, "v0.1.2", unsigned)
    r.poll()
    body = r.decide("rfc8785", "0.1.2")
    assert codes(body) == ["unsigned"]  # once, not once per file
    assert body["reasons"][0]["detail"].startswith(f"{ASSET}, extra-0.1.2.txt: ")

    approved = toolgate(
        r, "approve", "rfc8785", "0.1.2", "--sha256", WHEEL_SHA256, "--reason", "vetted by hand"
    )
    assert approved.exit_code == 0, approved.output
    listed = toolgate(r, "tools", "--json")
    (tool,) = [t for t in json.loads(listed.stdout)["tools"] if t["name"] == "rfc8785"]
    assert [v["version"] for v in tool["versions"]] == ["v0.1.2"]  # one row for the release
    assert tool["versions"][0]["decision"] == "allow"
