"""`toolgate verify` / `toolgate explain` beyond the fixture table: defaults, checksums, usage."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from .conftest import SIGSTORE

CASE = SIGSTORE / "conf-happy-path-v0.3-new-mediaType"
CONF_ID = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
GHA = "https://token.actions.githubusercontent.com"
SIGNER = ["--identity", CONF_ID, "--issuer", GHA]


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """An artifact with its bundle next to it under the default name."""
    artifact = tmp_path / "tool_1.0.0_linux.tar.gz"
    shutil.copy(CASE / "artifact", artifact)
    shutil.copy(CASE / "bundle.sigstore.json", f"{artifact}.sigstore.json")
    return artifact


def test_default_bundle_name_and_human_output(toolgate, release: Path) -> None:
    result = toolgate("verify", release, *SIGNER)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK ")
    assert "repository: sigstore-conformance/extremely-dangerous-public-oidc-beacon" in (
        result.stdout
    )


def test_legacy_dot_sigstore_bundle_name(toolgate, release: Path) -> None:
    Path(f"{release}.sigstore.json").rename(f"{release}.sigstore")
    assert toolgate("verify", release, *SIGNER).exit_code == 0


def test_no_bundle_is_unsigned(toolgate, release: Path) -> None:
    Path(f"{release}.sigstore.json").unlink()
    result = toolgate("verify", release, *SIGNER, "--json")
    assert result.exit_code == 1
    assert result.json()["reason"] == "unsigned"


def test_human_failure_names_the_check_and_expected_vs_found(toolgate, release: Path) -> None:
    result = toolgate("verify", release, "--identity", CONF_ID, "--issuer", "https://evil.test")
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "identity-mismatch" in result.stdout
    assert f"expected issuer=https://evil.test; found issuer={GHA}" in result.stdout


def test_claim_options(toolgate, release: Path) -> None:
    ok = toolgate(
        "verify",
        release,
        *SIGNER,
        "--repository-id",
        "632596897",
        "--ref",
        "refs/heads/main",
        "--trigger",
        "workflow_dispatch",
    )
    assert ok.exit_code == 0, ok.stdout
    bad = toolgate("verify", release, *SIGNER, "--repository", "aquasecurity/trivy", "--json")
    assert bad.exit_code == 1
    assert bad.json()["failures"][0]["found"] == (
        "repository=sigstore-conformance/extremely-dangerous-public-oidc-beacon"
    )


def _checksums(release: Path, digest: str, name: str | None = None) -> Path:
    path = release.with_name("checksums.txt")
    path.write_text(f"{digest}  {name or release.name}\n")
    return path


def test_checksums_match(toolgate, release: Path) -> None:
    sums = _checksums(release, hashlib.sha256(release.read_bytes()).hexdigest())
    assert toolgate("verify", release, *SIGNER, "--checksums", sums).exit_code == 0


def test_checksum_mismatch(toolgate, release: Path) -> None:
    sums = _checksums(release, "00" * 32)
    result = toolgate("verify", release, *SIGNER, "--checksums", sums, "--json")
    assert result.exit_code == 1
    report = result.json()
    assert report["reason"] == "checksum-mismatch"
    assert report["failures"][0]["expected"] == "00" * 32


def test_asset_missing_from_checksums(toolgate, release: Path) -> None:
    sums = _checksums(release, "00" * 32, name="other.tar.gz")
    result = toolgate("verify", release, *SIGNER, "--checksums", sums, "--json")
    assert result.exit_code == 1
    assert result.json()["reason"] == "not-verified"
    assert "has no checksum for" in result.json()["failures"][0]["detail"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--identity-regexp", "https://github.com/.*", "--issuer", GHA], "not anchored"),
        (["--identity", "a", "--identity-regexp", "^a$", "--issuer", GHA], "exactly one"),
        (["--issuer", GHA], "exactly one"),
        ([*SIGNER, "--bundle", "/nonexistent/bundle.json"], "cannot read bundle"),
        ([*SIGNER, "--trusted-root", "/nonexistent/root.json"], "cannot read trusted root"),
        ([*SIGNER, "--checksums", "/nonexistent/sums"], "cannot read checksums file"),
        ([*SIGNER, "--staging", "--trusted-root", "/x.json"], "either --trusted-root or --staging"),
    ],
)
def test_usage_errors_exit_2(toolgate, release: Path, args: list[str], message: str) -> None:
    result = toolgate("verify", release, *args)
    assert result.exit_code == 2
    assert message in result.error


def test_unreadable_artifact_exits_2(toolgate, tmp_path: Path) -> None:
    result = toolgate("verify", tmp_path / "missing.tar.gz", *SIGNER)
    assert result.exit_code == 2
    assert "not a readable file nor a sha256" in result.error


def test_digest_artifact_needs_a_bundle(toolgate) -> None:
    result = toolgate("verify", "sha256:" + "ab" * 32, *SIGNER)
    assert result.exit_code == 2
    assert "needs --bundle" in result.error


def test_explain_prints_claims_in_config_terms(toolgate) -> None:
    bundle = SIGSTORE / "spy-prod-github-actions-wheel" / "bundle_v3_github.whl.sigstore"
    report = toolgate("explain", bundle, "--json").json()
    assert report["verified"] is False
    assert report["claims"]["identity"].endswith("release.yml@refs/tags/v0.1.2")
    assert report["claims"]["repository"] == "trailofbits/rfc8785.py"
    assert report["claims"]["repository_id"] == "768213997"
    assert report["claims"]["sha"] == "d8b4a6445f38c48b9137a8099706d9b8073146e4"
    assert report["claims"]["trigger"] == "release"
    assert report["claims"]["runner_environment"] == "github-hosted"
    assert report["log"] == {
        "log_index": 79605083,
        "entry_kind": "hashedrekord 0.0.1",
        "integrated_time": "2024-03-19T22:41:16+00:00",
    }
    table = toolgate("explain", bundle)
    assert table.exit_code == 0
    assert "not verified" in table.stdout and "trailofbits/rfc8785.py" in table.stdout


def test_explain_rejects_a_broken_bundle(toolgate) -> None:
    result = toolgate("explain", SIGSTORE / "conf-bundle-malformed-json-fail/bundle.sigstore.json")
    assert result.exit_code == 2
    assert "signature-invalid: invalid bundle" in result.error


NESTED = b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "x": %s}' % (
    b"[" * 100_000 + b"]" * 100_000
)


def test_a_deeply_nested_bundle_is_refused_not_a_traceback(toolgate, release: Path) -> None:
    Path(f"{release}.sigstore.json").write_bytes(NESTED)
    verified = toolgate("verify", release, *SIGNER)
    assert verified.exit_code == 1 and "nested too deeply" in verified.stdout + verified.stderr
    explained = toolgate("explain", f"{release}.sigstore.json")
    assert explained.exit_code == 2 and "signature-invalid" in explained.error
    assert "nested too deeply" in explained.error
