"""Checksums files: every shared fixture, each supported format, errors, round-trip."""

from __future__ import annotations

import hashlib
import json
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.verify import (
    AssetNotListed,
    ChecksumFormatError,
    Reason,
    check_digest,
    parse_checksums,
)
from verifier.verify.checksums import Algorithm, ChecksumEntry, Style, format_checksums

from .conftest import CHECKSUMS

FILES = sorted(CHECKSUMS.iterdir())
A256 = "ab" * 32
A512 = "cd" * 64


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_fixture_file_parses_and_each_line_is_found(path) -> None:
    text = path.read_text()
    parsed = parse_checksums(text, source=path.name)
    if path.suffix == ".json":
        raw = json.loads(text)["checksums"]
        expected = {e["id"]: e["checksum"].lower() for e in raw}
    else:
        expected = {line.split()[1]: line.split()[0] for line in text.splitlines() if line}
    assert {e.name: e.digest for e in parsed.entries} == expected
    for name, digest in expected.items():
        assert parsed.lookup(name.rsplit("/", 1)[-1]).digest == digest


def test_aqua_lookup_by_asset_basename_and_uppercase_hex() -> None:
    parsed = parse_checksums((CHECKSUMS / "aqua-checksums_cosign.json").read_text(), "aqua.json")
    entry = parsed.lookup("cosign-linux-amd64")
    assert entry.name == "github_release/github.com/sigstore/cosign/v3.1.3/cosign-linux-amd64"
    assert entry.digest == entry.digest.lower()


@pytest.mark.parametrize(
    ("text", "source", "name", "algorithm"),
    [
        (f"{A256}  trivy.tar.gz\n", "checksums.txt", "trivy.tar.gz", Algorithm.SHA256),
        (f"{A256} *trivy.tar.gz\n", "checksums.txt", "trivy.tar.gz", Algorithm.SHA256),
        (f"{A256} trivy.tar.gz\n", "checksums.txt", "trivy.tar.gz", Algorithm.SHA256),
        (f"SHA256 (trivy.tar.gz) = {A256}\n", "CHECKSUM", "trivy.tar.gz", Algorithm.SHA256),
        (f"SHA512 (trivy.tar.gz) = {A512}\n", "CHECKSUM", "trivy.tar.gz", Algorithm.SHA512),
        (f"{A512}  trivy.tar.gz\n", "SHA512SUMS", "trivy.tar.gz", Algorithm.SHA512),
        (f"{A256}\n", "trivy.tar.gz.sha256", "trivy.tar.gz", Algorithm.SHA256),
        (f"{A512.upper()}\r\n", "trivy.tar.gz.sha512", "trivy.tar.gz", Algorithm.SHA512),
        (f"{A256}  trivy.tar.gz", "trivy.tar.gz.sha256", "trivy.tar.gz", Algorithm.SHA256),
        (f"# comment\n\n{A256}  trivy.tar.gz\n", "sums", "trivy.tar.gz", Algorithm.SHA256),
    ],
)
def test_formats(text: str, source: str, name: str, algorithm: Algorithm) -> None:
    entry = parse_checksums(text, source).lookup(name)
    assert entry.algorithm == algorithm
    assert entry.digest in (A256, A512)


def test_bare_hash_without_a_named_source_applies_to_its_only_asset() -> None:
    assert parse_checksums(A256, "digest.txt").lookup("anything").digest == A256


def test_sha512_preferred_when_both_listed() -> None:
    text = f"{A256}  a.tgz\nSHA512 (a.tgz) = {A512}\n"
    assert parse_checksums(text).lookup("a.tgz").algorithm == Algorithm.SHA512


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{A256}  a\nthis is not a checksum\n", "line 2: 'this is not a checksum'"),
        ("<html><body>404</body></html>", "line 1"),
        (f"{A256[:-2]}  a\n", "line 1"),
        (f"SHA256 (a) = {A512}\n", "line 1"),
        ("MD5 (a) = d41d8cd98f00b204e9800998ecf8427e\n", "line 1"),
        ("\n# only a comment\n", "contains no checksum"),
        ('{"checksums": [{"id": "a", "checksum": "zz"}]}', "checksums[1]"),
        ('{"files": []}', "aqua"),
        ("{not json", "not valid JSON"),
    ],
)
def test_unknown_formats_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ChecksumFormatError, match=re.escape(message)):
        parse_checksums(text, "sums.txt")


def test_missing_asset_names_what_is_listed() -> None:
    parsed = parse_checksums(f"{A256}  trivy_0.69.3_Linux-64bit.tar.gz\n", "trivy_checksums.txt")
    with pytest.raises(
        AssetNotListed, match=r"trivy_0\.69\.4_Linux-64bit\.tar\.gz.*it lists trivy_0"
    ):
        parsed.lookup("trivy_0.69.4_Linux-64bit.tar.gz")


def test_conflicting_entries_are_an_error() -> None:
    parsed = parse_checksums(f"{A256}  a\n{'ef' * 32}  a\n")
    with pytest.raises(ChecksumFormatError, match="different digests"):
        parsed.lookup("a")


def test_check_digest() -> None:
    data = b"release bytes"
    sha256, sha512 = hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest()
    entry = parse_checksums(f"{sha256}  a\n").lookup("a")
    assert check_digest(entry, sha256, sha512) is None
    failure = check_digest(entry, hashlib.sha256(b"tampered").hexdigest(), None)
    assert failure is not None and failure.reason == Reason.CHECKSUM_MISMATCH
    assert failure.expected == sha256
    entry512 = parse_checksums(f"{sha512}  a\n").lookup("a")
    assert check_digest(entry512, sha256, sha512) is None
    missing = check_digest(entry512, sha256, None)
    assert missing is not None and missing.reason == Reason.NOT_VERIFIED


_NAME_CHARS = string.ascii_letters + string.digits + "._-+ ()=*\\\n/é"
names = st.text(_NAME_CHARS, min_size=1, max_size=40).filter(
    lambda n: n == n.strip() and not n.startswith("*")
)
entries = st.builds(
    lambda name, algorithm, raw: ChecksumEntry(
        name, algorithm, raw.hex()[: {Algorithm.SHA256: 64, Algorithm.SHA512: 128}[algorithm]], 0
    ),
    names,
    st.sampled_from(Algorithm),
    st.binary(min_size=64, max_size=64),
)


@given(
    st.lists(entries, min_size=1, max_size=8, unique_by=lambda e: e.name), st.sampled_from(Style)
)
def test_format_then_parse_round_trips(listed: list[ChecksumEntry], style: Style) -> None:
    parsed = parse_checksums(format_checksums(listed, style), "sums")
    assert [(e.name, e.algorithm, e.digest) for e in parsed.entries] == [
        (e.name, e.algorithm, e.digest) for e in listed
    ]


def test_a_deeply_nested_json_checksums_file_is_a_format_error():
    nested = '{"checksums": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ChecksumFormatError, match="nested too deeply"):
        parse_checksums(nested, "checksums.json")
