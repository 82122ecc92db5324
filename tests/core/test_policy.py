"""The pure policy: one test per rule, and the interactions between rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from verifier.policy import (
    AdvisoryHit,
    Override,
    Query,
    Reason,
    ReleaseFacts,
    ToolFacts,
    decide,
    newest_allowed,
)
from verifier.versioning import ApprovedVersions

NOW = datetime(2026, 3, 19, 21, 0, tzinfo=UTC)
GOOD = "a" * 64
EVIL = "e" * 64
COMMIT = "1885610c" + "0" * 32


def release(
    version: str, status: str = "verified", seen: timedelta = timedelta(days=10), **kw
) -> ReleaseFacts:
    assets = kw.pop("assets", {f"trivy_{version}_Linux-64bit.tar.gz": GOOD})
    return ReleaseFacts(version, status, NOW - seen, assets, **kw)  # type: ignore[arg-type]


def override(kind: str, oid: int = 1, **kw) -> Override:
    return Override(oid, kind, "because", "alice", NOW - timedelta(hours=1), **kw)  # type: ignore[arg-type]


def tool(
    *releases: ReleaseFacts,
    versions=(">=0.60",),
    mode="enforce",
    cooldown=timedelta(0),
    approvals=(),
    blocks=(),
):
    return ToolFacts(
        "trivy",
        mode,
        cooldown,
        ApprovedVersions(list(versions)),
        {r.version: r for r in releases},
        tuple(approvals),
        tuple(blocks),
    )


def codes(decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def test_unknown_tool_follows_the_unknown_policy():
    deny = decide(Query("nope", "1.0"), None, "deny", NOW)
    warn = decide(Query("nope", "1.0"), None, "warn", NOW)
    assert (deny.outcome, deny.would_deny, codes(deny)) == ("deny", False, ["not-in-inventory"])
    assert (warn.outcome, warn.would_deny, codes(warn)) == ("warn", True, ["not-in-inventory"])
    assert deny.reasons[0].found == "nope"


def test_verified_release_in_the_approved_set_is_allowed_with_its_digest():
    decision = decide(Query("trivy", "0.69.3"), tool(release("0.69.3")), "deny", NOW)
    assert (decision.outcome, decision.reasons, decision.sha256) == ("allow", (), GOOD)


def test_a_leading_v_names_the_same_release():
    assert (
        decide(Query("trivy", "v0.69.3"), tool(release("0.69.3")), "deny", NOW).outcome == "allow"
    )


def test_never_seen_version_is_denied_as_unknown():
    decision = decide(Query("trivy", "0.69.9"), tool(release("0.69.3")), "deny", NOW)
    assert decision.outcome == "deny"
    assert codes(decision) == ["unknown-version"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [("pending", ["pending-verification"]), ("rejected", ["not-verified"])],
)
def test_unverified_releases_are_never_allowed(status: str, expected: list[str]):
    decision = decide(Query("trivy", "0.69.3"), tool(release("0.69.3", status)), "deny", NOW)
    assert (decision.outcome, codes(decision)) == ("deny", expected)


def test_rejected_release_carries_its_verification_reasons():
    reason = Reason(
        "commit-not-on-branch", "a commit reachable from main", f"{COMMIT} (tag v0.69.4)"
    )
    facts = tool(release("0.69.4", "rejected", reasons=(reason,)), versions=())
    decision = decide(Query("trivy", "0.69.4"), facts, "deny", NOW)
    assert decision.reasons == (reason,)


def test_version_outside_the_approved_set_is_denied():
    decision = decide(Query("trivy", "0.59.0"), tool(release("0.59.0")), "deny", NOW)
    assert codes(decision) == ["not-approved"]
    assert decision.reasons[0].expected == ">=0.60"


def test_empty_versions_means_any_verified_version():
    assert (
        decide(Query("trivy", "0.1.0"), tool(release("0.1.0"), versions=()), "deny", NOW).outcome
        == "allow"
    )


def test_runner_digest_that_differs_from_the_verified_one_is_checksum_mismatch():
    decision = decide(Query("trivy", "0.69.3", sha256=EVIL), tool(release("0.69.3")), "deny", NOW)
    assert (decision.outcome, codes(decision)) == ("deny", ["checksum-mismatch"])
    assert (decision.reasons[0].expected, decision.reasons[0].found) == (GOOD, EVIL)


def test_runner_digest_that_matches_is_allowed():
    decision = decide(Query("trivy", "0.69.3", sha256=GOOD), tool(release("0.69.3")), "deny", NOW)
    assert (decision.outcome, decision.sha256) == ("allow", GOOD)


def test_asset_not_in_the_verified_release_is_not_verified():
    query = Query("trivy", "0.69.3", asset="trivy_0.69.3_evil.tar.gz")
    decision = decide(query, tool(release("0.69.3")), "deny", NOW)
    assert codes(decision) == ["not-verified"]


def test_digest_of_another_asset_is_a_mismatch_for_the_named_asset():
    facts = tool(release("0.69.3", assets={"a.tar.gz": GOOD, "b.tar.gz": "b" * 64}))
    decision = decide(
        Query("trivy", "0.69.3", sha256="b" * 64, asset="a.tar.gz"), facts, "deny", NOW
    )
    assert codes(decision) == ["checksum-mismatch"]


def test_release_inside_cooldown_is_too_new_with_eligible_at():
    facts = tool(release("0.69.3", seen=timedelta(hours=2)), cooldown=timedelta(hours=72))
    decision = decide(Query("trivy", "0.69.3"), facts, "deny", NOW)
    assert codes(decision) == ["too-new"]
    assert decision.reasons[0].eligible_at == NOW - timedelta(hours=2) + timedelta(hours=72)
    assert (
        decide(Query("trivy", "0.69.3"), facts, "deny", NOW + timedelta(hours=71)).outcome
        == "allow"
    )


def test_manual_approval_allows_an_unknown_version_and_pins_its_digest():
    facts = tool(approvals=[override("approve", version="0.69.3", sha256=GOOD)])
    allowed = decide(Query("trivy", "0.69.3"), facts, "deny", NOW)
    assert (allowed.outcome, codes(allowed), allowed.sha256) == ("allow", ["override"], GOOD)
    mismatch = decide(Query("trivy", "0.69.3", sha256=EVIL), facts, "deny", NOW)
    assert codes(mismatch) == ["checksum-mismatch"]


def test_approval_bypasses_cooldown_and_approved_set():
    facts = tool(
        release("0.70.0", seen=timedelta(minutes=5)),
        versions=("<0.70",),
        cooldown=timedelta(days=3),
        approvals=[override("approve", version="0.70.0", sha256=GOOD)],
    )
    assert decide(Query("trivy", "0.70.0"), facts, "deny", NOW).outcome == "allow"


def test_a_block_beats_an_approval():
    facts = tool(
        release("0.69.3"),
        approvals=[override("approve", version="0.69.3", sha256=GOOD)],
        blocks=[override("block", 2, version="0.69.3")],
    )
    decision = decide(Query("trivy", "0.69.3"), facts, "deny", NOW)
    assert decision.outcome == "deny"
    assert codes(decision)[0] == "manual-block"
    assert "alice" in (decision.reasons[0].detail or "")


def test_an_expired_block_no_longer_applies():
    expired = override("block", version="0.69.3", expires_at=NOW - timedelta(seconds=1))
    assert (
        decide(
            Query("trivy", "0.69.3"), tool(release("0.69.3"), blocks=[expired]), "deny", NOW
        ).outcome
        == "allow"
    )
    live = override("block", version="0.69.3", expires_at=NOW + timedelta(days=7))
    assert (
        decide(
            Query("trivy", "0.69.3"), tool(release("0.69.3"), blocks=[live]), "deny", NOW
        ).outcome
        == "deny"
    )


def test_a_block_without_version_blocks_every_version():
    facts = tool(release("0.69.2"), release("0.69.3"), blocks=[override("block")])
    assert {
        decide(Query("trivy", v), facts, "deny", NOW).outcome for v in ("0.69.2", "0.69.3")
    } == {"deny"}


def test_a_digest_block_applies_whatever_version_name_it_travels_under():
    facts = tool(
        release("0.69.3", assets={"x.tar.gz": EVIL}),
        release("0.69.2"),
        blocks=[override("block", sha256=EVIL)],
    )
    assert codes(decide(Query("trivy", "0.69.3"), facts, "deny", NOW)) == ["manual-block"]
    assert (
        codes(decide(Query("trivy", "9.9.9", sha256=EVIL), facts, "deny", NOW))[0] == "manual-block"
    )
    assert decide(Query("trivy", "0.69.2"), facts, "deny", NOW).outcome == "allow"


def test_a_commit_block_applies_to_releases_built_from_it_and_to_sha_pins():
    facts = tool(
        release("0.69.4", commits=frozenset({COMMIT})), blocks=[override("block", commit=COMMIT)]
    )
    assert codes(decide(Query("trivy", "0.69.4"), facts, "deny", NOW)) == ["manual-block"]
    assert codes(decide(Query("trivy", COMMIT), facts, "deny", NOW))[0] == "manual-block"


def test_warn_mode_answers_warn_and_records_would_deny():
    decision = decide(Query("trivy", "0.69.9"), tool(mode="warn"), "deny", NOW)
    assert (decision.outcome, decision.would_deny, codes(decision)) == (
        "warn",
        True,
        ["unknown-version"],
    )


def test_warn_mode_still_allows_what_enforce_allows():
    decision = decide(Query("trivy", "0.69.3"), tool(release("0.69.3"), mode="warn"), "deny", NOW)
    assert (decision.outcome, decision.would_deny) == ("allow", False)


def test_all_applicable_deny_reasons_are_reported_in_rule_order():
    facts = tool(
        release("0.59.0", seen=timedelta(0)),
        cooldown=timedelta(days=1),
        blocks=[override("block", version="0.59.0")],
    )
    assert codes(decide(Query("trivy", "0.59.0", sha256=EVIL), facts, "deny", NOW)) == [
        "manual-block",
        "not-approved",
        "checksum-mismatch",
        "too-new",
    ]


def test_newest_allowed_skips_denied_versions():
    facts = tool(
        release("0.69.2"),
        release("0.69.3"),
        release("0.69.4", "rejected"),
        release("0.70.0", seen=timedelta(hours=1)),
        cooldown=timedelta(days=1),
        blocks=[override("block", version="0.69.3")],
    )
    assert newest_allowed(facts, NOW) == "0.69.2"
    assert newest_allowed(tool(), NOW) is None


def test_reason_serialises_without_empty_fields():
    reason = Reason("too-new", "x", eligible_at=datetime(2026, 3, 22, tzinfo=UTC))
    assert reason.to_dict() == {
        "code": "too-new",
        "expected": "x",
        "eligible_at": "2026-03-22T00:00:00Z",
    }


def hit(action: str = "deny", waiver: str | None = None) -> AdvisoryHit:
    return AdvisoryHit(
        "GHSA-69fq-xp46-6x23",
        ("CVE-2026-33634", "GO-2026-4919"),
        "CRITICAL",
        action,  # type: ignore[arg-type]
        "Trivy release 0.69.4 contains malicious code",
        "affected: introduced 0.69.4, fixed 0.69.5",
        waiver,
    )


def test_an_advisory_at_or_above_the_threshold_denies():
    decision = decide(Query("trivy", "0.69.3"), tool(release("0.69.3")), "deny", NOW, [hit()])
    assert (decision.outcome, codes(decision)) == ("deny", ["advisory"])
    assert "GHSA-69fq-xp46-6x23, CVE-2026-33634" in (decision.reasons[0].found or "")


def test_an_advisory_below_the_threshold_warns():
    decision = decide(Query("trivy", "0.69.3"), tool(release("0.69.3")), "deny", NOW, [hit("warn")])
    assert (decision.outcome, decision.would_deny, codes(decision)) == ("warn", False, ["advisory"])


def test_a_waived_advisory_is_an_override_and_allows():
    waived = hit(waiver="alice until 2026-04-01: GO-2026-4919 reads every later version as bad")
    decision = decide(Query("trivy", "0.69.3"), tool(release("0.69.3")), "deny", NOW, [waived])
    assert (decision.outcome, codes(decision)) == ("allow", ["override"])
    assert "waived" in (decision.reasons[0].detail or "")


def test_newest_allowed_skips_versions_with_advisories():
    facts = tool(release("0.69.3"), release("0.69.4"))
    affected = {"0.69.4": [hit()]}
    assert newest_allowed(facts, NOW, lambda v: affected.get(v, ())) == "0.69.3"
