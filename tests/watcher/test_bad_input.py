"""Bad upstream input ends as a named reason or a poll error, never `allow`; serving goes on."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session, select

from tests.watcher.conftest import ASSET, REPO, SOURCE_COMMIT, WHEEL, codes, rfc8785_tool
from tests.watcher.conftest import signed_release_files as files
from verifier.leases import Leaser
from verifier.store.models import HttpCacheRow, ReleaseRow


def releases(rig) -> list[ReleaseRow]:
    with Session(rig.server.engine) as session:
        return list(session.scalars(select(ReleaseRow).where(ReleaseRow.tool == "rfc8785")))


def start(rig):
    r = rig(rfc8785_tool())
    r.github.add_commit(REPO, SOURCE_COMMIT)
    return r


def test_a_failing_listing_records_nothing_and_is_retried_next_poll(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", files())
    r.github.inject(500, count=4, match="/releases")
    report = r.poll("rfc8785")["rfc8785"]
    assert "answered 500" in report.error and releases(r) == []
    with Session(r.server.engine) as session:
        assert session.scalars(select(HttpCacheRow)).all() == []
    assert r.decide("rfc8785", "0.1.2")["decision"] == "deny"
    assert r.poll("rfc8785")["rfc8785"].verified == ["v0.1.2"]


def test_html_instead_of_the_listing_is_a_poll_error(rig):
    r = start(rig)
    r.github.inject(
        200, headers={"Content-Type": "text/html"}, body=b"<!DOCTYPE html>", match="/releases"
    )
    assert "not JSON" in r.poll("rfc8785")["rfc8785"].error
    with r.server.client() as client:
        assert client.get("/healthz").status_code == 200


def test_a_truncated_download_is_not_verified_and_retried(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", files())
    r.github.inject(200, headers={"Content-Length": str(len(WHEEL))}, body=WHEEL[:100], match=ASSET)
    assert r.poll("rfc8785")["rfc8785"].rejected == ["v0.1.2"]
    body = r.decide("rfc8785", "0.1.2")
    assert body["decision"] == "deny" and codes(body) == ["not-verified"]
    assert "download of" in body["reasons"][0]["detail"]
    (row,) = releases(r)
    assert json.loads(row.evidence_json)["retry"] is True
    assert r.poll("rfc8785")["rfc8785"].verified == ["v0.1.2"]  # listing unchanged: retried


def test_a_redirect_to_a_host_not_allowed_is_not_verified(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", files())
    r.github.inject(302, headers={"Location": "http://evil.invalid/x.whl"}, body=b"", match=ASSET)
    r.poll("rfc8785")
    body = r.decide("rfc8785", "0.1.2")
    assert codes(body) == ["not-verified"] and "evil.invalid" in body["reasons"][0]["detail"]


def test_a_missing_asset_is_not_verified(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", {"README": b"hi"})
    r.poll("rfc8785")
    body = r.decide("rfc8785", "0.1.2")
    assert codes(body) == ["not-verified"]
    assert body["reasons"][0]["expected"] == ASSET


def test_a_bundle_that_is_not_json_is_signature_invalid(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", {**files(), f"{ASSET}.sigstore.json": b"<html>"})
    r.poll("rfc8785")
    assert codes(r.decide("rfc8785", "0.1.2")) == ["signature-invalid"]


def test_a_digest_published_by_github_that_differs_is_checksum_mismatch(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", files())
    asset = next(a for a in r.github.repos[REPO].releases[0]["assets"] if a["name"] == ASSET)
    asset["digest"] = "sha256:" + "0" * 64
    r.poll("rfc8785")
    body = r.decide("rfc8785", "0.1.2")
    assert codes(body) == ["checksum-mismatch"] and body["reasons"][0]["expected"].endswith(
        "0" * 64
    )


def test_required_attestation_missing_is_not_verified(rig):
    r = rig(rfc8785_tool(extra='attestations = "required"\n'))
    r.github.add_commit(REPO, SOURCE_COMMIT)
    r.github.add_release(REPO, "v0.1.2", files())
    r.poll("rfc8785")
    body = r.decide("rfc8785", "0.1.2")
    assert (
        codes(body) == ["not-verified"]
        and "no artifact attestation" in body["reasons"][0]["detail"]
    )


def test_unapproved_versions_are_recorded_but_not_downloaded(rig):
    r = rig(rfc8785_tool(extra='versions = [">=1.0"]\n'))
    r.github.add_release(REPO, "v0.1.2", files())
    report = r.poll("rfc8785")["rfc8785"]
    assert (report.new, report.verified, report.rejected) == (["v0.1.2"], [], [])
    assert not any("/releases/download/" in req.path for req in r.github.requests)
    assert codes(r.decide("rfc8785", "0.1.2")) == ["pending-verification", "not-approved"]


def test_files_uploaded_after_the_release_was_created_are_waited_for(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", {ASSET: WHEEL})  # bundle and sums not uploaded yet
    report = r.poll("rfc8785", upload_grace=timedelta(hours=1))["rfc8785"]
    assert (report.new, report.verified, report.rejected) == (["v0.1.2"], [], [])
    assert codes(r.decide("rfc8785", "0.1.2")) == ["pending-verification"]
    (row,) = releases(r)
    assert json.loads(row.evidence_json)["waiting_for"] == [
        "SHA256SUMS",
        f"{ASSET}.sigstore.json",
    ]
    for name, data in files().items():
        r.github.put_asset(REPO, "v0.1.2", name, data)
    assert r.poll("rfc8785", upload_grace=timedelta(hours=1))["rfc8785"].verified == ["v0.1.2"]


def test_files_still_missing_after_the_grace_period_are_judged_without_them(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", {ASSET: WHEEL})
    r.poll("rfc8785", upload_grace=timedelta(hours=1))
    with Session(r.server.engine) as session:
        (row,) = session.scalars(select(ReleaseRow)).all()
        row.first_seen_at -= timedelta(hours=2)
        session.commit()
    assert r.poll("rfc8785", upload_grace=timedelta(hours=1))["rfc8785"].rejected == ["v0.1.2"]
    assert codes(r.decide("rfc8785", "0.1.2")) == ["unsigned"]


def test_a_tool_another_replica_is_polling_is_skipped(rig):
    r = start(rig)
    r.github.add_release(REPO, "v0.1.2", files())
    other_replica = Leaser(r.server.engine, timedelta(minutes=2))
    with other_replica.hold("watch:rfc8785", timedelta(minutes=15)) as held:
        assert held
        report = r.poll("rfc8785")["rfc8785"]
        assert report.elsewhere and not report.new and r.github.api_requests() == []
    assert r.poll("rfc8785")["rfc8785"].verified == ["v0.1.2"]
