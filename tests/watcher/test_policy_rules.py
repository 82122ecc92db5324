"""The policy rules the watcher's facts feed: upstream changes after first sight, and actions
asked for by full commit SHA."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from verifier.policy import Override, Query, Reason, ReleaseFacts, ToolFacts, decide, newest_allowed
from verifier.versioning import ApprovedVersions

NOW = datetime(2026, 3, 19, 21, 0, tzinfo=UTC)
PINNED = "a" * 64
FIRST, MOVED = "1" * 40, "2" * 40
DIGEST_CHANGED = Reason("digest-changed", "x.tar.gz as first seen", "new file")
TAG_MOVED = Reason("tag-moved", f"tag 0.35.0 at {FIRST}", f"tag 0.35.0 at {MOVED}")


def binary(*releases: ReleaseFacts) -> ToolFacts:
    return ToolFacts(
        "trivy",
        "enforce",
        timedelta(0),
        ApprovedVersions([]),
        {r.version.removeprefix("v"): r for r in releases},
    )


def action(*releases: ReleaseFacts, versions: tuple[str, ...] = (">=0.35.0",)) -> ToolFacts:
    tool = binary(*releases)
    by_commit = {c: r.version for r in releases for c in r.commits}
    return replace(
        tool, name="trivy-action", approved=ApprovedVersions(list(versions)), by_commit=by_commit
    )


def verified(version: str, **kw) -> ReleaseFacts:
    return ReleaseFacts(version, "verified", NOW - timedelta(days=3), **kw)


def ask(tool: ToolFacts, version: str, sha256: str | None = None):
    return decide(Query(tool.name, version, sha256), tool, "deny", NOW)


def codes(decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def test_a_replaced_asset_denies_the_version_but_not_the_pinned_digest():
    tool = binary(verified("0.69.3", assets={"x.tar.gz": PINNED}, changes=(DIGEST_CHANGED,)))
    assert (ask(tool, "0.69.3").outcome, codes(ask(tool, "0.69.3"))) == ("deny", ["digest-changed"])
    assert ask(tool, "0.69.3", sha256=PINNED).outcome == "allow"
    other = ask(tool, "0.69.3", sha256="e" * 64)
    assert codes(other) == ["digest-changed", "checksum-mismatch"]


def test_a_changed_release_is_not_the_newest_allowed():
    tool = binary(
        verified("0.69.2", assets={"x": "b" * 64}),
        verified("0.69.3", assets={"x.tar.gz": PINNED}, changes=(DIGEST_CHANGED,)),
    )
    assert newest_allowed(tool, NOW) == "0.69.2"


def test_a_pinned_digest_of_a_release_that_never_verified_is_still_denied():
    rejected = ReleaseFacts(
        "0.69.4",
        "rejected",
        NOW,
        {"x.tar.gz": PINNED},
        reasons=(Reason("unsigned"),),
        changes=(DIGEST_CHANGED,),
    )
    decision = ask(binary(rejected), "0.69.4", sha256=PINNED)
    assert (decision.outcome, codes(decision)) == ("deny", ["unsigned", "digest-changed"])


def test_an_approval_overrides_an_upstream_change():
    tool = replace(
        binary(verified("0.69.3", assets={"x.tar.gz": PINNED}, changes=(DIGEST_CHANGED,))),
        approvals=(
            Override(1, "approve", "checked", "alice", NOW, version="0.69.3", sha256="c" * 64),
        ),
    )
    assert ask(tool, "0.69.3").outcome == "allow"


def test_an_action_asked_for_by_commit_resolves_to_the_release_of_its_tag():
    tool = action(verified("0.35.0", commits=frozenset({FIRST}), pinned_commit=FIRST))
    assert ask(tool, FIRST).outcome == "allow"
    assert ask(tool, FIRST.upper()).outcome == "allow"
    unknown = ask(tool, "3" * 40)
    assert (unknown.outcome, codes(unknown)) == ("deny", ["unknown-version"])


def test_a_commit_is_approved_through_the_version_of_its_tag():
    old = verified("0.30.0", commits=frozenset({FIRST}), pinned_commit=FIRST)
    decision = ask(action(old), FIRST)
    assert (decision.outcome, codes(decision)) == ("deny", ["not-approved"])
    assert decision.reasons[0].found == FIRST


def test_a_moved_tag_denies_the_tag_and_the_new_commit_but_not_the_first_commit():
    moved = verified(
        "0.35.0", commits=frozenset({FIRST, MOVED}), pinned_commit=FIRST, changes=(TAG_MOVED,)
    )
    tool = action(moved)
    assert codes(ask(tool, "0.35.0")) == ["tag-moved"]
    assert codes(ask(tool, MOVED)) == ["tag-moved"]
    assert ask(tool, FIRST).outcome == "allow"


def test_a_block_by_commit_covers_the_tag_and_the_sha():
    tool = replace(
        action(verified("0.35.0", commits=frozenset({FIRST}), pinned_commit=FIRST)),
        blocks=(Override(2, "block", "incident", "bob", NOW, commit=FIRST),),
    )
    assert codes(ask(tool, "0.35.0")) == ["manual-block"]
    assert codes(ask(tool, FIRST)) == ["manual-block"]
