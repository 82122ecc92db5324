"""`toolgate verify` on every case in the shared Sigstore fixtures (see its README)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import SIGSTORE

CONF_ID = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
GHA = "https://token.actions.githubusercontent.com"
GH_OAUTH = "https://github.com/login/oauth"
GOOGLE = "https://accounts.google.com"
WHEEL_ID = (
    "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
)
CPYTHON_DIGEST = "sha256:38dc4e2c261d49c661196066edbfb70fdb16be4a79cc8220c224dfeb5636d405"

SIG = "signature-invalid"
NOT = "not-verified"


@dataclass(frozen=True)
class Case:
    name: str
    exit_code: int
    reason: str | None = None  # the JSON "reason" when exit_code == 1
    root: str = "production"  # production | staging | case
    identity: str = CONF_ID
    issuer: str = GHA
    artifact: str = "artifact"  # file in the case dir, or sha256:<hex>
    bundle: str = "bundle.sigstore.json"

    def args(self) -> list[str | Path]:
        case = SIGSTORE / self.name
        artifact = self.artifact if self.artifact.startswith("sha256:") else case / self.artifact
        args: list[str | Path] = ["verify", artifact, "--bundle", case / self.bundle, "--json"]
        args += ["--identity", self.identity, "--issuer", self.issuer]
        if self.root == "staging":
            args.append("--staging")
        elif self.root == "case":
            args += ["--trusted-root", case / "trusted_root.json"]
        return args


def _staging(name: str, file: str, identity: str, issuer: str, **kw: object) -> Case:
    return Case(
        name,
        root="staging",
        artifact=file,
        bundle=f"{file}.sigstore",
        identity=identity,
        issuer=issuer,
        **kw,
    )  # type: ignore[arg-type]


CASES = [
    # production bundles that verify
    Case("conf-happy-path-v0.1", 0),
    Case("conf-happy-path-v0.3-new-mediaType", 0),
    Case(
        "spy-prod-github-actions-wheel",
        0,
        identity=WHEEL_ID,
        artifact="bundle_v3_github.whl",
        bundle="bundle_v3_github.whl.sigstore",
    ),
    # staging bundles that verify
    Case(
        "spy-staging-rekor-v2",
        0,
        root="staging",
        identity="jku@goto.fi",
        issuer=GH_OAUTH,
        artifact="staging-rekor-v2.txt",
        bundle="staging-rekor-v2.txt.sigstore.json",
    ),
    _staging("spy-staging-v0.1-email", "bundle.txt", "a@tny.town", GH_OAUTH, exit_code=0),
    _staging(
        "spy-staging-v0.3-email", "bundle_v3.txt", "william@yossarian.net", GH_OAUTH, exit_code=0
    ),
    # the case's own trusted_root.json
    *(
        Case(n, 0, root="case")
        for n in (
            "conf-bundle-with-sct-with-extensions",
            "conf-rekor2-checkpoint-cosigned",
            "conf-rekor2-checkpoint-origin-not-first",
            "conf-rekor2-happy-path",
            "conf-rekor2-timestamp-with-embedded-cert",
            "conf-rekor2-timestamp-with-expired-cert-chain",
            "conf-trust-root-tlog-validity-end-inclusive",
        )
    ),
    # DSSE: artifact is the in-toto subject
    Case("conf-happy-path-intoto-in-dsse-v3", 0),
    # DIFFERS upstream: sigstore 4.5.1 cannot check intoto 0.0.2 entries -> not-verified
    Case("conf-intoto-with-custom-trust-root", 1, NOT, root="case"),
    # malformed bundles
    Case("conf-bundle-empty-certificate-chain-fail", 1, SIG),
    Case("conf-bundle-from-wrong-instance-fail", 1, SIG),
    Case("conf-bundle-malformed-json-fail", 1, SIG),
    Case("conf-bundle-unknown-version-fail", 1, SIG),
    Case("conf-bundle-with-root-cert-fail", 1, SIG),
    _staging(
        "spy-fail-no-log-entry",
        "bundle_no_log_entry.txt",
        "alex.cameron@trailofbits.com",
        GOOGLE,
        exit_code=1,
        reason=SIG,
    ),
    # log entry / timestamp material
    Case(
        "spy-fail-cpython-3.12.5-no-checkpoint",
        1,
        SIG,
        identity="thomas@python.org",
        issuer=GOOGLE,
        artifact=CPYTHON_DIGEST,
        bundle="Python-3.12.5.tgz.sigstore",
    ),
    _staging(
        "spy-fail-cve-2022-36056",
        "bundle_cve_2022_36056.txt",
        "william@yossarian.net",
        GH_OAUTH,
        exit_code=1,
        reason=SIG,
    ),
    Case(
        "spy-fail-v0.3-no-signed-time",
        1,
        SIG,
        identity="william@yossarian.net",
        issuer=GH_OAUTH,
        artifact="bundle_v3_no_signed_time.txt",
        bundle="bundle_v3_no_signed_time.txt.sigstore.json",
    ),
    # tampered hashedrekord
    Case("conf-checkpoint-bad-keyhint-fail", 1, SIG),
    Case("conf-inclusion-proof-corrupted-hash-fail", 1, SIG),
    Case(
        "conf-integrated-time-in-future-fail",
        1,
        SIG,
        identity="untrusted-sa@sigstore-conformance.iam.gserviceaccount.com",
        issuer=GOOGLE,
    ),
    Case("conf-invalid-ct-key-fail", 1, SIG, root="case"),
    Case("conf-message-digest-mismatch-fail", 1, SIG),
    Case("conf-signature-mismatch-fail", 1, SIG),
    Case("conf-wrong-hashedrekord-artifact-fail", 1, SIG),
    Case("conf-wrong-material-fail", 1, SIG),
    # tampered DSSE
    Case("conf-dsse-invalid-sig-fail", 1, SIG),
    Case("conf-dsse-mismatch-envelope-fail", 1, SIG),
    Case("conf-intoto-expired-certificate-fail", 1, NOT, root="case"),
    Case("conf-intoto-missing-inclusion-proof-fail", 1, SIG, root="case"),
    Case(
        "spy-fail-dsse-subject-mismatch",
        1,
        SIG,
        root="staging",
        artifact="a.dsse.staging-rekor-v2.txt",
        bundle="a.dsse.staging-rekor-v2.txt.sigstore.json",
    ),
    # Rekor v2 checkpoint / RFC 3161 timestamp problems
    *(
        Case(n, 1, SIG, root="case")
        for n in (
            "conf-rekor2-checkpoint-missing-log-signature-fail",
            "conf-rekor2-checkpoint-missing-origin-fail",
            "conf-rekor2-checkpoint-no-matching-signature-fail",
            "conf-rekor2-dsse-invalid-sig-fail",
            "conf-rekor2-dsse-mismatch-envelope-fail",
            "conf-rekor2-no-inclusion-proof-fail",
            "conf-rekor2-no-timestamp-fail",
            "conf-rekor2-timestamp-outside-trust-root-tsa-validity-fail",
            "conf-rekor2-timestamp-untrusted-tsa-with-embedded-cert-fail",
        )
    ),
    # a malformed trust root is unusable input, not a verdict on the bundle
    Case("conf-trust-root-tlog-missing-validity-start-fail", 2, root="case"),
    # managed keys: toolgate verifies keyless (certificate) signatures only
    Case("conf-managed-key-happy-path", 1, NOT),
    Case("conf-managed-key-wrong-key-fail", 1, NOT),
]


def test_table_covers_every_bundle_case() -> None:
    with_bundle = {
        p.name
        for p in SIGSTORE.iterdir()
        if p.is_dir() and any(f.name.endswith((".sigstore", ".sigstore.json")) for f in p.iterdir())
    }
    assert {c.name for c in CASES} == with_bundle


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fixture_case(toolgate, case: Case) -> None:
    result = toolgate(*case.args())
    assert result.exit_code == case.exit_code, result.stdout + result.stderr
    if case.exit_code == 2:
        assert "is not a valid Sigstore trusted root" in result.error
        return
    report = result.json()
    assert report["verified"] is (case.exit_code == 0)
    assert report["reason"] == case.reason, report["failures"]


PRODUCTION_BUNDLE = Case("conf-happy-path-v0.1", 0)
STAGING_BUNDLE = _staging(
    "spy-staging-v0.3-email", "bundle_v3.txt", "william@yossarian.net", GH_OAUTH, exit_code=0
)
STANDALONE_ROOTS = {
    # root file: (exit code on the production bundle, on the staging bundle)
    "spy-trust-config-v1/trust_config.json": (0, 1),
    "spy-trusted-root-v1/trusted_root.json": (0, 1),
    "spy-trusted-root-staging-tuf/trusted_root.json": (1, 0),
    "spy-trusted-root-badtype/trusted_root.json": (2, 2),
}


@pytest.mark.parametrize("root", sorted(STANDALONE_ROOTS))
def test_standalone_trust_roots(toolgate, root: str) -> None:
    """Each standalone root verifies bundles of its own instance only; badtype cannot load."""
    for case, expected in zip(
        (PRODUCTION_BUNDLE, STAGING_BUNDLE), STANDALONE_ROOTS[root], strict=True
    ):
        args = [a for a in case.args() if a != "--staging"]
        result = toolgate(*args, "--trusted-root", SIGSTORE / root)
        assert result.exit_code == expected, result.stdout + result.stderr
        if expected == 1:
            assert result.json()["reason"] == SIG
        if expected == 2:
            assert "is not a valid Sigstore trusted root" in result.error
