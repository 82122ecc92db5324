"""Tools published at a templated URL: one conditional GET per configured version, the file's
digest pinned at first sight, checksums and bundles looked for next to it."""

from __future__ import annotations

import pytest

from tests.watcher.conftest import codes, sums
from verifier.demo.upstream import sha256_hex

TARBALL = "deck_{version}_linux_amd64.tar.gz"
DATA = b"deck 1.2.0 binary"


@pytest.fixture
def deck(rig, fake_github):
    """A rig with `deck` at a plain URL, versions 1.2.0 (published) and 1.3.0 (not yet)."""

    def start(*, signed: bool = False):
        base = f"{fake_github.url}/dl/deck/{{version}}/"
        tool = (
            "[[tool]]\n"
            'name = "deck"\n'
            f'source = "url:{base}{TARBALL}"\n'
            'versions = ["1.2.0", "1.3.0"]\n'
            'checksums = "deck_{version}_checksums.txt"\n'
        )
        if signed:
            tool += 'signature = { identity = "https://example.org/release" }\n'
        r = rig(tool)
        name = TARBALL.replace("{version}", "1.2.0")
        r.github.put_file(f"/dl/deck/1.2.0/{name}", DATA)
        r.github.put_file("/dl/deck/1.2.0/deck_1.2.0_checksums.txt", sums((name, sha256_hex(DATA))))
        return r

    return start


def test_a_published_version_is_verified_by_its_checksums_file(deck):
    r = deck()
    report = r.poll("deck")["deck"]
    assert (report.new, report.verified) == (["1.2.0"], ["1.2.0"])
    body = r.decide("deck", "1.2.0")
    assert (body["decision"], body["sha256"]) == ("allow", sha256_hex(DATA))
    assert codes(r.decide("deck", "1.3.0")) == ["unknown-version"]


def test_an_unchanged_url_costs_one_conditional_request_per_version(deck):
    r = deck()
    r.poll("deck")
    r.github.requests.clear()
    assert r.poll("deck")["deck"].unchanged
    polled = [(q.path.rsplit("/", 1)[1], q.status, q.conditional) for q in r.github.requests]
    assert sorted(polled) == [
        ("deck_1.2.0_linux_amd64.tar.gz", 304, True),
        ("deck_1.3.0_linux_amd64.tar.gz", 404, False),
    ]


def test_a_replaced_file_is_digest_changed(deck):
    r = deck()
    r.poll("deck")
    r.github.put_file("/dl/deck/1.2.0/deck_1.2.0_linux_amd64.tar.gz", b"evil")
    assert r.poll("deck")["deck"].incidents == ["digest-changed 1.2.0"]
    assert codes(r.decide("deck", "1.2.0")) == ["digest-changed"]
    assert r.decide("deck", "1.2.0", sha256=sha256_hex(DATA))["decision"] == "allow"


def test_a_missing_bundle_next_to_the_file_is_unsigned(deck):
    r = deck(signed=True)
    r.poll("deck")
    assert codes(r.decide("deck", "1.2.0")) == ["unsigned"]
