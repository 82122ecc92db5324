"""Checksums files that give SHA-512 digests: the watcher computes SHA-512 for that asset only
(a download hashes SHA-256 alone unless asked) and compares it."""

from __future__ import annotations

import hashlib

import pytest

from tests.watcher.conftest import (
    ASSET,
    REPO,
    SOURCE_COMMIT,
    WHEEL,
    WHEEL_SHA256,
    codes,
    rfc8785_tool,
    signed_release_files,
    sums,
)

WHEEL_SHA512 = hashlib.sha512(WHEEL).hexdigest()


@pytest.fixture
def sha512_rig(rig):
    r = rig(rfc8785_tool(checksums="SHA512SUMS"))
    r.github.add_commit(REPO, SOURCE_COMMIT)
    return r


def release(sha512: str) -> dict[str, bytes]:
    files = signed_release_files()
    del files["SHA256SUMS"]
    return {**files, "SHA512SUMS": sums((ASSET, sha512))}


def test_sha512_checksums_file_verifies_the_asset(sha512_rig) -> None:
    sha512_rig.github.add_release(REPO, "v0.1.2", release(WHEEL_SHA512))
    assert sha512_rig.poll("rfc8785")["rfc8785"].verified == ["v0.1.2"]
    body = sha512_rig.decide("rfc8785", "0.1.2")
    assert (body["decision"], body["sha256"]) == ("allow", WHEEL_SHA256)


def test_sha512_mismatch_is_denied_with_both_digests(sha512_rig) -> None:
    sha512_rig.github.add_release(REPO, "v0.1.2", release("0" * 128))
    sha512_rig.poll("rfc8785")
    body = sha512_rig.decide("rfc8785", "0.1.2")
    assert (body["decision"], codes(body)) == ("deny", ["checksum-mismatch"])
    assert body["reasons"][0]["expected"] == "0" * 128
    assert body["reasons"][0]["found"] == WHEEL_SHA512
