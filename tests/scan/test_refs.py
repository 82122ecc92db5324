"""The `uses:` parser and classifier, image references and versions: tables of real values and
hypothesis properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.scan.refs import (
    classify_ref,
    comment_version,
    is_templated,
    parse_image,
    parse_uses,
    version_pin,
)

SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"


@pytest.mark.parametrize(
    ("value", "kind", "repo", "path", "ref", "pin"),
    [
        (f"actions/checkout@{SHA}", "action", "actions/checkout", "", SHA, "sha"),
        (
            "aquasecurity/trivy-action@0.33.1",
            "action",
            "aquasecurity/trivy-action",
            "",
            "0.33.1",
            "tag",
        ),
        (
            "aquasecurity/setup-trivy@v0.2.2",
            "action",
            "aquasecurity/setup-trivy",
            "",
            "v0.2.2",
            "tag",
        ),
        ("actions/checkout@v4", "action", "actions/checkout", "", "v4", "tag"),
        ("actions/checkout@main", "action", "actions/checkout", "", "main", "branch"),
        ("actions/checkout@releases/v1", "action", "actions/checkout", "", "releases/v1", "branch"),
        ("actions/checkout", "action", "actions/checkout", "", None, "missing"),
        ("actions/checkout@", "action", "actions/checkout", "", "", "missing"),
        ("actions/checkout@11bd719", "action", "actions/checkout", "", "11bd719", "branch"),
        (
            "github/codeql-action/upload-sarif@v3",
            "action",
            "github/codeql-action",
            "upload-sarif",
            "v3",
            "tag",
        ),
        (
            "o/r/.github/workflows/ci.yml@v2",
            "reusable-workflow",
            "o/r",
            ".github/workflows/ci.yml",
            "v2",
            "tag",
        ),
        ("o/r@${{ inputs.ref }}", "action", "o/r", "", "${{ inputs.ref }}", "templated"),
        ("./.github/actions/setup", "local", None, "./.github/actions/setup", None, "missing"),
        ("docker://alpine:3.20", "docker", None, "alpine:3.20", None, "missing"),
    ],
)
def test_uses_table(value, kind, repo, path, ref, pin):
    parsed = parse_uses(value)
    assert parsed is not None
    assert (parsed.kind, parsed.repo, parsed.path, parsed.ref, parsed.pin) == (
        kind,
        repo,
        path,
        ref,
        pin,
    )


@pytest.mark.parametrize("value", ["", "checkout", "-o/r@v1", "a b/c@v1", "/x@v1"])
def test_uses_that_is_not_a_reference(value):
    assert parse_uses(value) is None


@pytest.mark.parametrize(
    ("value", "name", "tag", "digest", "pin"),
    [
        ("alpine", "alpine", None, None, "missing"),
        ("alpine:latest", "alpine", "latest", None, "missing"),
        ("aquasec/trivy:0.69.4", "aquasec/trivy", "0.69.4", None, "tag"),
        ("localhost:5000/app:ci", "localhost:5000/app", "ci", None, "tag"),
        ("localhost:5000/app", "localhost:5000/app", None, None, "missing"),
        ("ghcr.io/a/b@sha256:" + "0" * 64, "ghcr.io/a/b", None, "sha256:" + "0" * 64, "digest"),
        ("postgres:16@sha256:" + "a" * 64, "postgres", "16", "sha256:" + "a" * 64, "digest"),
        ("postgres:16@sha256:abc", "postgres", "16", None, "tag"),
        ("$CI_REGISTRY_IMAGE:$TAG", "$CI_REGISTRY_IMAGE", "$TAG", None, "templated"),
    ],
)
def test_image_table(value, name, tag, digest, pin):
    image = parse_image(value)
    assert image is not None
    assert (image.name, image.tag, image.digest, image.pin) == (name, tag, digest, pin)


@pytest.mark.parametrize("value", ["", "Dockerfile", "docker/Dockerfile", "two words"])
def test_not_an_image(value):
    assert parse_image(value) is None


@pytest.mark.parametrize(
    ("rest", "claim"),
    [
        (" # v4.2.2", "v4.2.2"),
        ("  #v4.2.2 pinned by renovate", "v4.2.2"),
        (" # tag=v4.2.2", "v4.2.2"),
        (" # pin@v1.0.0", "v1.0.0"),
        (" # 0.33.1", "0.33.1"),
        (" # the checkout", None),
        ("", None),
        ("# v1 (no space before the comment: part of the scalar)", None),
    ],
)
def test_comment_version(rest, claim):
    assert comment_version(rest) == claim


@pytest.mark.parametrize(
    ("value", "pin"),
    [
        ("v0.69.4", "version"),
        ("latest", "missing"),
        ("", "missing"),
        ("~> v2", "range"),
        (">=1.2", "range"),
        ("1.22.x", "range"),
        ("${{ matrix.go }}", "templated"),
        ("$V", "templated"),
    ],
)
def test_version_pin(value, pin):
    assert version_pin(value) == pin


owners = st.text(string.ascii_letters + string.digits, min_size=1, max_size=20)
repos = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=30)
refs = st.text(string.ascii_letters + string.digits + "._-/", min_size=1, max_size=60)


@given(owners, repos, refs)
def test_parse_round_trips_owner_repo_ref(owner, repo, ref):
    parsed = parse_uses(f"{owner}/{repo}@{ref}")
    assert parsed is not None
    assert parsed.repo == f"{owner}/{repo}" and parsed.ref == ref and parsed.path == ""
    assert parsed.pin == classify_ref(ref)


@given(st.text(max_size=80))
def test_only_a_full_hex_commit_is_immutable(ref):
    pin = classify_ref(ref)
    full_hex = len(ref) == 40 and all(c in string.hexdigits for c in ref)
    assert (pin == "sha") == full_hex
    assert pin in ("sha", "tag", "branch", "missing", "templated")


@given(st.binary(min_size=20, max_size=20))
def test_every_commit_is_a_sha(raw):
    assert classify_ref(raw.hex()) == "sha"
    assert classify_ref(raw.hex().upper()) == "sha"


@given(st.text(max_size=200))
def test_parsers_never_raise(value):
    parse_uses(value)
    parse_image(value)
    comment_version(value)
    version_pin(value)
    assert is_templated(value) in (True, False)
