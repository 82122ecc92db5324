"""Identity policy and reason classification on real production bundles (library API)."""

from __future__ import annotations

import hashlib
import socket
from datetime import UTC, datetime

import pytest

from verifier.verify import (
    AcceptedIdentity,
    ClaimExpectations,
    IdentityPolicy,
    Instance,
    PolicyError,
    Reason,
    Rejected,
    Verified,
    instance_verifier,
    verify_signature,
)

from .conftest import SIGSTORE

WHEEL = SIGSTORE / "spy-prod-github-actions-wheel" / "bundle_v3_github.whl"
WHEEL_BUNDLE = WHEEL.with_name(WHEEL.name + ".sigstore").read_bytes()
WHEEL_SHA256 = hashlib.sha256(WHEEL.read_bytes()).hexdigest()
WORKFLOW = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml"
WHEEL_ID = f"{WORKFLOW}@refs/tags/v0.1.2"
GHA = "https://token.actions.githubusercontent.com"


PRODUCTION = instance_verifier(Instance.PRODUCTION)


def verify(policy: IdentityPolicy, bundle: bytes | None = WHEEL_BUNDLE, sha256: str = WHEEL_SHA256):
    return verify_signature(sha256, bundle, policy, PRODUCTION)


def one(**kw: object) -> IdentityPolicy:
    kw.setdefault("issuer", GHA)
    return IdentityPolicy((AcceptedIdentity(**kw),))  # type: ignore[arg-type]


def test_verified_carries_evidence() -> None:
    result = verify(
        one(
            san=WHEEL_ID,
            claims=ClaimExpectations(
                repository="trailofbits/rfc8785.py",
                repository_id="768213997",
                owner_id="2314423",
                ref="refs/tags/v0.1.2",
                sha="d8b4a6445f38c48b9137a8099706d9b8073146e4",
                trigger="release",
                runner_environment="github-hosted",
            ),
        )
    )
    assert isinstance(result, Verified)
    evidence = result.evidence
    assert evidence.claims.san == WHEEL_ID
    assert evidence.claims.workflow == WHEEL_ID
    assert evidence.log_index == 79605083
    assert evidence.integrated_time == datetime.fromtimestamp(1710888076, UTC)
    assert evidence.signed_at == evidence.integrated_time
    assert evidence.entry_kind == "hashedrekord 0.0.1"


def test_anchored_regexp_matches_whole_san() -> None:
    assert isinstance(verify(one(san_regexp=rf"^{WORKFLOW}@refs/tags/v[0-9.]+$")), Verified)
    # fullmatch: a regexp that only matches a prefix of the SAN does not pass
    result = verify(one(san_regexp=r"^https://github.com/trailofbits/$"))
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.IDENTITY_MISMATCH


@pytest.mark.parametrize(
    ("kw", "claim", "found"),
    [
        ({"san": WHEEL_ID + "x"}, "identity", WHEEL_ID),
        ({"san": WHEEL_ID, "issuer": "https://accounts.google.com"}, "issuer", GHA),
        (
            {"san": WHEEL_ID, "claims": ClaimExpectations(repository="evil/fork")},
            "repository",
            "trailofbits/rfc8785.py",
        ),
        (
            {"san": WHEEL_ID, "claims": ClaimExpectations(repository_id="1")},
            "repository_id",
            "768213997",
        ),
        (
            {"san": WHEEL_ID, "claims": ClaimExpectations(ref="refs/heads/main")},
            "ref",
            "refs/tags/v0.1.2",
        ),
        (
            {"san": WHEEL_ID, "claims": ClaimExpectations(sha="0" * 40)},
            "sha",
            "d8b4a6445f38c48b9137a8099706d9b8073146e4",
        ),
        ({"san": WHEEL_ID, "claims": ClaimExpectations(trigger="push")}, "trigger", "release"),
    ],
)
def test_identity_mismatch_says_expected_and_found(kw: dict, claim: str, found: str) -> None:
    result = verify(one(**kw))
    assert isinstance(result, Rejected)
    failure = result.failure
    assert failure.reason == Reason.IDENTITY_MISMATCH
    assert failure.found == f"{claim}={found}"
    assert failure.expected is not None and failure.expected.startswith(f"{claim}=")
    assert result.claims is not None and result.claims.san == WHEEL_ID


def test_any_of_several_identities() -> None:
    old = AcceptedIdentity(GHA, san=f"{WORKFLOW}@refs/tags/v0.0.9")
    new = AcceptedIdentity(GHA, san=WHEEL_ID)
    assert isinstance(verify(IdentityPolicy((old, new))), Verified)
    other = AcceptedIdentity("https://accounts.google.com", san="someone@example.com")
    result = verify(IdentityPolicy((other, old)))
    assert isinstance(result, Rejected)
    assert "(closest accepted identity)" in result.failure.detail
    assert result.failure.found == f"identity={WHEEL_ID}"  # `old` differs in the SAN only


def test_wrong_identity_on_a_broken_bundle_is_reported_as_broken() -> None:
    case = SIGSTORE / "conf-signature-mismatch-fail"
    sha256 = hashlib.sha256((case / "artifact").read_bytes()).hexdigest()
    result = verify(
        one(san="nobody@example.com"), (case / "bundle.sigstore.json").read_bytes(), sha256
    )
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID
    assert "Signature is invalid for input" in result.failure.detail


def test_other_bytes_are_signature_invalid() -> None:
    result = verify(one(san=WHEEL_ID), sha256=hashlib.sha256(b"other bytes").hexdigest())
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID


def test_no_bundle_is_unsigned() -> None:
    result = verify(one(san=WHEEL_ID), None)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.UNSIGNED
    assert result.claims is None


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"<html>not json</html>", "invalid bundle"),
        (b'{"mediaType": "application/vnd.dev.sigstore.bundle+json;version=9"}', "invalid bundle"),
        (b"[]", "invalid bundle"),
    ],
)
def test_garbage_bundles_are_signature_invalid(raw: bytes, detail: str) -> None:
    result = verify(one(san=WHEEL_ID), raw)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID
    assert detail in result.failure.detail


def test_attestation_bundle_is_not_a_signature() -> None:
    bundle = (SIGSTORE / "conf-happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json").read_bytes()
    result = verify(one(san=WHEEL_ID), bundle)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.NOT_VERIFIED


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"san_regexp": "https://github.com/org/.*"}, "not anchored"),
        ({"san_regexp": "^https://github.com/org/.*"}, "not anchored"),
        ({"san_regexp": r"^https://github.com/org/.*\$"}, "not anchored"),
        ({"san_regexp": "^(unclosed$"}, "not a valid regexp"),
        ({"san": "a", "san_regexp": "^a$"}, "exactly one"),
        ({}, "exactly one"),
        ({"san": ""}, "identity is empty"),
        ({"san": "a", "issuer": ""}, "issuer is empty"),
    ],
)
def test_invalid_identities_are_refused(kw: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        one(**kw)


def test_empty_policy_is_refused() -> None:
    with pytest.raises(PolicyError, match="trust every signer"):
        IdentityPolicy(())


def test_offline_roots_need_no_network_and_no_cache(monkeypatch, tmp_path) -> None:
    """Offline verifiers start from the roots embedded in sigstore, with an empty cache and
    every outgoing connection refused."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    production = instance_verifier(Instance.PRODUCTION)
    result = verify_signature(WHEEL_SHA256, WHEEL_BUNDLE, one(san=WHEEL_ID), production)
    assert isinstance(result, Verified)
    staging_case = SIGSTORE / "spy-staging-v0.3-email" / "bundle_v3.txt"
    result = verify_signature(
        hashlib.sha256(staging_case.read_bytes()).hexdigest(),
        staging_case.with_name("bundle_v3.txt.sigstore").read_bytes(),
        one(san="william@yossarian.net", issuer="https://github.com/login/oauth"),
        instance_verifier(Instance.STAGING),
    )
    assert isinstance(result, Verified)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"mediaType": "x", "verificationMaterial": %s}' % (b"[" * 100_000 + b"]" * 100_000),
    ],
    ids=["array", "in-a-bundle"],
)
def test_a_deeply_nested_bundle_is_signature_invalid(raw: bytes) -> None:
    """What the release watcher fetches upstream goes through here: a failure, not a crash."""
    result = verify(one(san=WHEEL_ID), raw)
    assert isinstance(result, Rejected)
    assert result.failure.reason == Reason.SIGNATURE_INVALID
    assert "nested too deeply" in result.failure.detail
