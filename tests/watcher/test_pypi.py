"""PyPI tools: releases from the JSON API, PEP 740 provenance as the signature, the source
commit named by the certificate checked on GitHub."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fakes.pypi import FakePyPI
from tests.watcher.conftest import codes
from verifier.demo.authority import SigningAuthority, github_signer
from verifier.demo.upstream import sha256_hex

REPO = "trailofbits/rfc8785.py"
COMMIT = "d" * 40
WHEEL = "rfc8785-0.1.2-py3-none-any.whl"
PUBLISHER = f"https://github.com/{REPO}/.github/workflows/release.yml@refs/tags/v0.1.2"


@pytest.fixture
def index() -> Iterator[FakePyPI]:
    fake = FakePyPI().start()
    yield fake
    fake.stop()


@pytest.fixture
def authority(tmp_path) -> SigningAuthority:
    ca = SigningAuthority()
    ca.write_trusted_root(tmp_path / "trusted_root.json")
    return ca


def pypi_tool(index: FakePyPI) -> str:
    return (
        f'[pypi]\nindex_url = "{index.url}"\n\n'
        "[[tool]]\n"
        'name = "rfc8785"\n'
        'source = "pypi:rfc8785"\n'
        'assets = ["rfc8785-{version}-py3-none-any.whl"]\n'
        f'signature = {{ identity = "{PUBLISHER}", branches = ["main"], '
        'trusted_root = "trusted_root.json" }\n'
    )


def provenance(ca: SigningAuthority, name: str, data: bytes, *, sha: str = COMMIT) -> dict:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": sha256_hex(data)}}],
        "predicateType": "https://docs.pypi.org/attestations/publish/v1",
        "predicate": None,
    }
    signer = github_signer(REPO, ref="refs/tags/v0.1.2", sha=sha, trigger="release")
    return json.loads(ca.sign_statement(statement, signer))


def test_a_release_with_pep740_provenance_is_verified_and_its_commit_checked(rig, index, authority):
    r = rig(pypi_tool(index))
    r.github.add_commit(REPO, COMMIT)
    data = b"wheel bytes"
    index.publish(
        "rfc8785", "0.1.2", {WHEEL: data}, bundles={WHEEL: [provenance(authority, WHEEL, data)]}
    )
    report = r.poll("rfc8785")["rfc8785"]
    assert (report.new, report.verified) == (["0.1.2"], ["0.1.2"])
    body = r.decide("rfc8785", "0.1.2")
    assert (body["decision"], body["sha256"]) == ("allow", sha256_hex(data))
    index.requests.clear()
    assert r.poll("rfc8785")["rfc8785"].unchanged
    assert [(q.path, q.status) for q in index.requests] == [("/pypi/rfc8785/json", 304)]


def test_a_file_without_provenance_is_unsigned(rig, index, authority):
    r = rig(pypi_tool(index))
    index.publish("rfc8785", "0.1.2", {WHEEL: b"wheel"})
    r.poll("rfc8785")
    assert codes(r.decide("rfc8785", "0.1.2")) == ["unsigned"]


def test_provenance_from_a_commit_off_the_protected_branch_is_denied(rig, index, authority):
    r = rig(pypi_tool(index))
    r.github.add_commit(REPO, "e" * 40)  # main exists, without the commit
    r.github.add_commit(REPO, COMMIT, branch="topic")
    data = b"wheel bytes"
    index.publish(
        "rfc8785", "0.1.2", {WHEEL: data}, bundles={WHEEL: [provenance(authority, WHEEL, data)]}
    )
    r.poll("rfc8785")
    assert codes(r.decide("rfc8785", "0.1.2")) == ["commit-not-on-branch"]


def test_provenance_about_another_file_is_signature_invalid(rig, index, authority):
    r = rig(pypi_tool(index))
    r.github.add_commit(REPO, COMMIT)
    other = provenance(authority, WHEEL, b"other bytes")
    index.publish("rfc8785", "0.1.2", {WHEEL: b"wheel bytes"}, bundles={WHEEL: [other]})
    r.poll("rfc8785")
    assert codes(r.decide("rfc8785", "0.1.2")) == ["signature-invalid"]
