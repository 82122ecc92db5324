"""Matching semantics beyond range edges: alias groups, disagreements, KEV, malware, unknown
ecosystems, withdrawn records."""

from __future__ import annotations

from typing import Any

import pytest

from advisories import AdvisoryIndex, AliasGroups, VersionError, merge_group, parse_record

from .test_osv_reading import osv


def record(record_id: str, ecosystem: str, name: str, *events: dict[str, str], **fields: Any):
    rng = {"type": "SEMVER" if ecosystem == "Go" else "ECOSYSTEM", "events": list(events)}
    affected = [{"package": {"ecosystem": ecosystem, "name": name}, "ranges": [rng]}]
    return parse_record(osv(record_id, affected=affected, **fields), source="test")


TRIVY = "github.com/aquasecurity/trivy"
# The Trivy incident as the issue describes it: the Go database reads "introduced 0.69.4, no fix",
# GitHub reads "0.69.4 only"; CISA lists the CVE.
GO_RECORD = record(
    "GO-2026-4919",
    "Go",
    TRIVY,
    {"introduced": "0.69.4"},
    aliases=["GHSA-69fq-xp46-6x23", "CVE-2026-33634"],
)
GHSA_RECORD = record(
    "GHSA-69fq-xp46-6x23",
    "Go",
    TRIVY,
    {"introduced": "0.69.4"},
    {"fixed": "0.69.5"},
    aliases=["CVE-2026-33634"],
    database_specific={"severity": "CRITICAL", "cwe_ids": ["CWE-506"]},
)


@pytest.fixture
def trivy_index() -> AdvisoryIndex:
    return AdvisoryIndex([GO_RECORD, GHSA_RECORD], known_exploited=["CVE-2026-33634"])


def test_alias_group_is_one_match_with_every_source(trivy_index: AdvisoryIndex) -> None:
    (match,) = trivy_index.match("Go", TRIVY, "v0.69.4")
    assert match.group_id == "CVE-2026-33634"
    assert match.matched_by == ("GHSA-69fq-xp46-6x23", "GO-2026-4919")
    assert match.disagreeing == ()
    assert set(match.aliases) | {match.advisory_id} == {
        "CVE-2026-33634", "GHSA-69fq-xp46-6x23", "GO-2026-4919",
    }  # fmt: skip
    assert match.known_exploited and match.malicious and match.severity == "CRITICAL"
    assert trivy_index.group("GO-2026-4919") == trivy_index.group("CVE-2026-33634")


def test_disagreeing_records_keep_the_broader_reading(trivy_index: AdvisoryIndex) -> None:
    (match,) = trivy_index.match("Go", TRIVY, "v0.69.6")
    assert match.matched_by == ("GO-2026-4919",)
    assert match.disagreeing == ("GHSA-69fq-xp46-6x23",)
    assert match.reason == "GO-2026-4919: v0.69.6 is in SEMVER range introduced 0.69.4 (no fix)"
    assert trivy_index.match("Go", TRIVY, "v0.69.3") == []


def test_merge_group_names_the_disagreement() -> None:
    merged = merge_group("CVE-2026-33634", [GO_RECORD, GHSA_RECORD])
    assert len(merged.affected) == 2
    (disagreement,) = merged.disagreements
    assert disagreement.describe() == (
        "Go:github.com/aquasecurity/trivy: records disagree: "
        "GHSA-69fq-xp46-6x23 says introduced 0.69.4, fixed 0.69.5; "
        "GO-2026-4919 says introduced 0.69.4 (no fix)"
    )
    # GitHub's ECOSYSTEM "0.51.2" and the Go database's SEMVER "0.51.2" are the same reading.
    a = record("GO-1", "Go", TRIVY, {"introduced": "0"}, {"fixed": "0.51.2"}, aliases=["GHSA-1"])
    b = parse_record(
        osv(
            "GHSA-1",
            affected=[
                {
                    "package": {"ecosystem": "Go", "name": TRIVY},
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.51.2"}]}
                    ],
                }
            ],
        ),
        source="test",
    )
    assert merge_group("GHSA-1", [a, b]).disagreements == ()
    merged = AdvisoryIndex([GO_RECORD, GHSA_RECORD]).merged("CVE-2026-33634")
    assert merged.group_id == "CVE-2026-33634" and len(merged.disagreements) == 1
    assert {r.id for r in merged.records} == {"GO-2026-4919", "GHSA-69fq-xp46-6x23"}


def test_alias_groups_are_transitive() -> None:
    groups = AliasGroups()
    groups.add(["GO-1", "GHSA-1"])
    groups.add(["PYSEC-1", "GHSA-1", "CVE-1"])
    assert groups.group_id("GO-1") == "CVE-1"
    assert groups.members("PYSEC-1") == {"GO-1", "GHSA-1", "PYSEC-1", "CVE-1"}
    assert groups.members("OTHER") == {"OTHER"}


def test_withdrawn_records_match_nothing() -> None:
    withdrawn = record("GO-9", "Go", TRIVY, {"introduced": "0"}, withdrawn="2024-01-01T00:00:00Z")
    index = AdvisoryIndex([withdrawn])
    assert index.match("Go", TRIVY, "v1.0.0") == [] and index.get("GO-9") is withdrawn


def test_malware_covering_every_version() -> None:
    mal = record(
        "MAL-2025-1",
        "npm",
        "evil-pkg",
        {"introduced": "0"},
        database_specific={"malicious-packages-origins": [{"source": "ossf"}]},
    )
    (match,) = AdvisoryIndex([mal]).match("npm", "Evil-Pkg", "1.0.0")
    assert match.malicious and match.covers_all_versions and match.severity == "CRITICAL"
    assert not match.exact_only


def test_cwe_506_marks_malicious() -> None:
    rec = record(
        "GHSA-2", "PyPI", "x", {"introduced": "0"}, database_specific={"cwe_ids": ["CWE-506"]}
    )
    assert rec.malicious


def test_unknown_ordering_matches_listed_versions_only_and_says_so() -> None:
    listed = parse_record(
        osv(
            "ASB-1",
            affected=[
                {
                    "package": {"ecosystem": "Android", "name": "platform"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                    "versions": ["12", "12L"],
                }
            ],
        ),
        source="test",
    )
    ranged = record("ASB-2", "Android", "platform", {"introduced": "0"}, {"fixed": "14"})
    index = AdvisoryIndex([listed, ranged])
    result = index.explain("Android", "platform", "12L")
    (match,) = result.matches
    assert match.advisory_id == "ASB-1" and match.exact_only
    # Its range cannot be evaluated: never guessed, never dropped, and the reason says why.
    assert [str(u) for u in result.unevaluated] == [
        "ASB-2: no version ordering is known for Android"
    ]
    assert index.explain("Android", "platform", "13").matches == ()


def test_debian_ranges_are_evaluated_with_dpkg_rules() -> None:
    dsa = record(
        "DSA-2", "Debian:12", "openssl", {"introduced": "0"}, {"fixed": "3.0.11-1~deb12u1"}
    )
    index = AdvisoryIndex([dsa])
    (match,) = index.match("debian:12", "openssl", "3.0.11-1~deb11u1")
    assert match.reason.endswith("is in ECOSYSTEM range introduced 0, fixed 3.0.11-1~deb12u1")
    assert index.explain("Debian:12", "openssl", "3.0.11-1").matches == ()


def test_a_range_with_an_unreadable_version_is_kept_and_reported() -> None:
    rec = record("GHSA-bad", "npm", "left-pad", {"introduced": "1.0.0"}, {"fixed": "next"})
    assert rec.notes == (
        "fixed 'next' is not a valid SemVer version: the range cannot be evaluated",
    )
    result = AdvisoryIndex([rec]).explain("npm", "left-pad", "1.2.0")
    assert result.matches == ()
    (skipped,) = result.unevaluated
    assert skipped.advisory_id == "GHSA-bad"
    assert "'next' is not a valid SemVer version" in skipped.why


def test_git_ranges_only_match_their_own_commits() -> None:
    commit = "b42dd4badf803bb9fb71ac34cd9cb0c249262f2c"
    rec = parse_record(
        osv(
            "PYSEC-9",
            affected=[
                {
                    "package": {"ecosystem": "PyPI", "name": "demo"},
                    "ranges": [
                        {"type": "GIT", "repo": "https://x", "events": [{"introduced": commit}]}
                    ],
                }
            ],
        ),
        source="test",
    )
    index = AdvisoryIndex([rec])
    (skipped,) = index.explain("PyPI", "demo", "1.0").unevaluated
    assert skipped.advisory_id == "PYSEC-9" and "GIT commit ranges" in skipped.why


def test_moving_action_tags_carry_a_note() -> None:
    rec = record(
        "GHSA-3",
        "GitHub Actions",
        "aquasecurity/trivy-action",
        {"introduced": "0"},
        {"fixed": "0.35.0"},
    )
    (match,) = AdvisoryIndex([rec]).match("GitHub Actions", "AquaSecurity/trivy-action", "v0")
    assert "moving tag" in match.notes[0]
    (exact,) = AdvisoryIndex([rec]).match("GitHub Actions", "aquasecurity/trivy-action", "0.33.1")
    assert exact.notes == ()


def test_invalid_query_versions_raise(trivy_index: AdvisoryIndex) -> None:
    with pytest.raises(VersionError):
        trivy_index.match("Go", TRIVY, "latest")
    assert trivy_index.match("Go", "unrelated/module", "v1.0.0") == []


def test_severity_orders_matches() -> None:
    low = record("GHSA-L", "npm", "p", {"introduced": "0"}, database_specific={"severity": "LOW"})
    high = record("GHSA-H", "npm", "p", {"introduced": "0"}, database_specific={"severity": "HIGH"})
    assert [m.advisory_id for m in AdvisoryIndex([low, high]).match("npm", "p", "1.0.0")] == [
        "GHSA-H",
        "GHSA-L",
    ]


@pytest.mark.parametrize(
    ("ecosystem", "listed", "queried"),
    [("Maven", "1.0", "1"), ("RubyGems", "1.0.a2", "1.0.a.2"), ("Debian:12", "1.0-0", "1.0")],
)
def test_listed_versions_match_by_equality_with_unhashable_keys(
    ecosystem: str, listed: str, queried: str
) -> None:
    affected = [{"package": {"ecosystem": ecosystem, "name": "p"}, "versions": [listed]}]
    index = AdvisoryIndex([parse_record(osv("X-1", affected=affected), source="t")])
    (match,) = index.match(ecosystem, "p", queried)
    assert match.reason == f"X-1: {queried} is listed in the affected versions"


def test_an_unevaluated_record_is_reported_unless_its_alias_group_matched() -> None:
    good = record("GHSA-1", "npm", "left-pad", {"introduced": "1.0.0"}, {"fixed": "1.3.0"})
    bad = record(
        "OSV-1", "npm", "left-pad", {"introduced": "0"}, {"fixed": "soon"}, aliases=["GHSA-1"]
    )
    index = AdvisoryIndex([good, bad])
    inside = index.explain("npm", "left-pad", "1.2.0")
    assert [m.group_id for m in inside.matches] == ["GHSA-1"] and inside.unevaluated == ()
    outside = index.explain("npm", "left-pad", "1.4.0")
    assert outside.matches == ()
    assert [u.advisory_id for u in outside.unevaluated] == ["OSV-1"]
