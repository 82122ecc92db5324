"""Scenarios signed on the spot by the test signing authority (a private Sigstore configured
with `signature.trusted_root`): the Trivy incident's shape, attestations, evidence changes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests.watcher.conftest import codes, sums
from verifier.demo.authority import SigningAuthority, github_signer
from verifier.demo.upstream import sha256_hex
from verifier.store.models import EventRow, IncidentRow

REPO = "aquasecurity/trivy"
MAIN, ATTACKER = "1" * 40, "6" * 40
RELEASE = ".github/workflows/release.yaml"
REUSABLE = f"{REPO}/.github/workflows/reusable-release.yaml"


def tool(identity: str, *, regexp: bool = False, extra: str = "") -> str:
    key = "identity_regexp" if regexp else "identity"
    return (
        "[[tool]]\n"
        'name = "trivy-ci"\n'
        f'source = "github:{REPO}"\n'
        'assets = ["trivy_{version}_Linux-64bit.tar.gz"]\n'
        'checksums = "trivy_{version}_checksums.txt"\n'
        f'signature = {{ {key} = "{identity}", branches = ["main"], '
        'trusted_root = "trusted_root.json" }\n' + extra
    )


@pytest.fixture
def authority(tmp_path) -> SigningAuthority:
    ca = SigningAuthority()
    ca.write_trusted_root(tmp_path / "trusted_root.json")
    return ca


def publish(
    rig,
    ca: SigningAuthority,
    version: str,
    *,
    sha: str = MAIN,
    workflow: str = RELEASE,
    reusable: bool = True,
    attest: bool = False,
    payload: bytes | None = None,
) -> str:
    """Build, sign and publish a Trivy-shaped release; returns the tarball's sha256."""
    tag = f"v{version}"
    data = payload or f"trivy {version}".encode()
    name = f"trivy_{version}_Linux-64bit.tar.gz"
    signer = github_signer(
        REPO,
        ref=f"refs/tags/{tag}",
        sha=sha,
        workflow=workflow,
        signer_workflow=f"{REUSABLE}@refs/tags/{tag}" if reusable else None,
    )
    rig.github.add_release(
        REPO,
        tag,
        {
            name: data,
            f"{name}.sigstore.json": ca.sign_artifact(data, signer).encode(),
            f"trivy_{version}_checksums.txt": sums((name, sha256_hex(data))),
        },
    )
    if attest:
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": sha256_hex(data)}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {
                "buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}
            },
        }
        rig.github.add_attestation(
            REPO, sha256_hex(data), json.loads(ca.sign_statement(statement, signer))
        )
    return sha256_hex(data)


SAN = f"https://github.com/{REUSABLE}@refs/tags/{{tag}}"


def test_a_release_built_from_an_attacker_tag_is_denied_though_validly_signed(rig, authority):
    r = rig(tool(SAN))
    r.github.add_commit(REPO, MAIN)
    r.github.add_commit(REPO, ATTACKER, branch=None)  # pushed with the tag, never merged
    publish(r, authority, "0.69.3")
    publish(r, authority, "0.69.4", sha=ATTACKER)
    report = r.poll("trivy-ci")["trivy-ci"]
    assert (report.verified, report.rejected) == (["v0.69.3"], ["v0.69.4"])
    body = r.decide("trivy-ci", "0.69.4")
    assert (body["decision"], codes(body), body["newest_allowed"]) == (
        "deny",
        ["commit-not-on-branch"],
        "v0.69.3",
    )
    assert body["reasons"][0]["found"] == ATTACKER


def test_a_valid_attestation_is_recorded_as_evidence(rig, authority):
    r = rig(tool(SAN, extra='attestations = "required"\n'))
    r.github.add_commit(REPO, MAIN)
    digest = publish(r, authority, "0.69.3", attest=True)
    assert r.poll("trivy-ci")["trivy-ci"].verified == ["v0.69.3"]
    assert r.decide("trivy-ci", "0.69.3", sha256=digest)["decision"] == "allow"


def test_an_attestation_about_other_bytes_rejects_the_release(rig, authority):
    r = rig(tool(SAN))
    r.github.add_commit(REPO, MAIN)
    digest = publish(r, authority, "0.69.3")
    other = {
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "x",
        "subject": [{"name": "x", "digest": {"sha256": "0" * 64}}],
        "predicate": {},
    }
    signer = github_signer(
        REPO, ref="refs/tags/v0.69.3", sha=MAIN, signer_workflow=f"{REUSABLE}@refs/tags/v0.69.3"
    )
    r.github.add_attestation(REPO, digest, json.loads(authority.sign_statement(other, signer)))
    r.poll("trivy-ci")
    assert codes(r.decide("trivy-ci", "0.69.3")) == ["signature-invalid"]


def test_another_signing_workflow_is_held_as_evidence_changed(rig, authority):
    anything_from_trivy = rf"^https://github[.]com/{REPO}/[.]github/workflows/.+$"
    r = rig(tool(anything_from_trivy, regexp=True))
    r.github.add_commit(REPO, MAIN)
    publish(r, authority, "0.69.2")
    publish(r, authority, "0.69.3", reusable=False, workflow=".github/workflows/evil.yaml")
    report = r.poll("trivy-ci")["trivy-ci"]
    assert (report.verified, report.rejected) == (["v0.69.2"], ["v0.69.3"])
    reason = r.decide("trivy-ci", "0.69.3")["reasons"][0]
    assert reason["code"] == "evidence-changed"
    assert "workflow" in reason["expected"] and "evil.yaml" in reason["found"]


def test_signatures_from_another_sigstore_instance_are_signature_invalid(rig, authority):
    r = rig(tool(SAN))
    r.github.add_commit(REPO, MAIN)
    publish(r, SigningAuthority(), "0.69.3")  # a CA the trusted root does not know
    r.poll("trivy-ci")
    assert codes(r.decide("trivy-ci", "0.69.3")) == ["signature-invalid"]


def _toolgate(rig, *args: str):
    from typer.testing import CliRunner

    from verifier.cli import app

    return CliRunner().invoke(app, [*args, "--config", str(rig.server.config.source_path)])


def test_attested_v1_v2_then_unattested_v3_is_held_until_accepted_and_audited(rig, authority):
    r = rig(tool(SAN))
    r.github.add_commit(REPO, MAIN)
    publish(r, authority, "0.69.1", attest=True)
    publish(r, authority, "0.69.2", attest=True)
    publish(r, authority, "0.69.3")  # no attestation
    report = r.poll("trivy-ci")["trivy-ci"]
    assert (report.verified, report.rejected) == (["v0.69.1", "v0.69.2"], ["v0.69.3"])
    body = r.decide("trivy-ci", "0.69.3")
    assert (body["decision"], codes(body)) == ("deny", ["evidence-changed"])
    reason = body["reasons"][0]
    assert (reason["expected"], reason["found"]) == ("attested=True (as v0.69.1)", "attested=False")
    with Session(r.server.engine) as session:  # one event: one incident, not two
        rows = session.scalars(select(IncidentRow)).all()
    assert [(i.kind, i.version) for i in rows] == [("evidence-changed", "v0.69.3")]

    explained = _toolgate(r, "explain", "trivy-ci", "0.69.3", "--json")
    assert explained.exit_code == 1, explained.output  # 1: denied now
    compared = {p["name"]: p for p in json.loads(explained.stdout)["compared_with"]["parts"]}
    assert (compared["attested"]["value"], compared["attested"]["from"]) == (True, "v0.69.1")

    first = json.loads(_toolgate(r, "explain", "trivy-ci", "0.69.1", "--json").stdout)
    (attestation,) = first["attestations"].values()
    assert attestation["predicate_type"] == "https://slsa.dev/provenance/v1"
    assert attestation["signer"].endswith("reusable-release.yaml@refs/tags/v0.69.1")
    assert attestation["source_commit"] == MAIN and attestation["rekor_log_index"] is not None

    accepted = _toolgate(r, "accept-evidence", "trivy-ci", "v0.69.3", "--reason", "GH outage")
    assert accepted.exit_code == 0, accepted.output
    r.server.service.refresh()
    assert r.decide("trivy-ci", "0.69.3")["decision"] == "allow"
    with Session(r.server.engine) as session:
        (event,) = session.scalars(select(EventRow).where(EventRow.action == "accept-evidence"))
    assert event.target == "trivy-ci v0.69.3" and "GH outage" in event.detail_json


def test_the_baseline_ratchets_up_with_attested_releases(rig, authority):
    r = rig(tool(SAN))
    r.github.add_commit(REPO, MAIN)
    publish(r, authority, "0.69.2")  # the first release: no attestation yet
    publish(r, authority, "0.69.3", attest=True)
    publish(r, authority, "0.69.7", attest=True)
    publish(r, authority, "0.69.8")  # attestation gone
    report = r.poll("trivy-ci")["trivy-ci"]
    assert report.rejected == ["v0.69.8"]
    reason = r.decide("trivy-ci", "0.69.8")["reasons"][0]
    assert reason["code"] == "evidence-changed"
    assert reason["expected"] == "attested=True (as v0.69.3)"
    explained = _toolgate(r, "explain", "trivy-ci", "0.69.8")
    assert explained.exit_code == 1, explained.output
    assert "v0.69.3" in explained.stdout and "attested" in explained.stdout
