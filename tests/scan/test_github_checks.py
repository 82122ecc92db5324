"""Checks that need GitHub: recorded pins first, then the fake GitHub on loopback, cached per
repository in the run and on disk; offline, no token and rate limits say not-checked (exit 3)."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.scan.conftest import BUILD_PUSH_V690, LOGIN_V330, ScanRig

NOT_CHECKED = 3
UNPINNED_REPOS = ("docker/login-action", "docker/build-push-action")


def rules_at(report: dict, subject: str) -> list[str]:
    return [f["rule"] for f in report["findings"] if f.get("subject") == subject]


def test_recorded_pins_first_then_the_api_once_per_repository(rig: ScanRig):
    tree = rig.tree("trivy-scan")
    code, report = rig.json(str(tree))
    assert code == 1
    # the pinned commit is not v6.9.0's, and not a commit of the repository at all
    assert rules_at(report, "docker/build-push-action") == [
        "impostor-commit",
        "sha-comment-mismatch",
        "unknown-tool",
    ]
    assert rules_at(report, "docker/login-action") == ["unknown-tool"]
    asked = sorted(r.path.split("?")[0] for r in rig.github.api_requests())
    expected = []
    for repo, commit in ((UNPINNED_REPOS[0], LOGIN_V330), (UNPINNED_REPOS[1], BUILD_PUSH_V690)):
        expected += [
            f"/repos/{repo}",  # its default branch
            f"/repos/{repo}/branches/main",  # the compare said 404: does the branch exist?
            f"/repos/{repo}/compare/main...{commit}",
            f"/repos/{repo}/git/matching-refs/tags",
        ]
    expected.remove(f"/repos/{UNPINNED_REPOS[0]}/branches/main")  # on main: no need to ask
    assert asked == sorted(expected)
    # actions/checkout's commits are toolgate's own pin and recorded check: GitHub not asked
    assert not rig.github.api_requests("actions/checkout")


def test_on_disk_cache_spares_the_second_run_and_revalidates_with_etags(rig: ScanRig):
    tree = rig.tree("trivy-scan")
    rig.json(str(tree))
    first = len(rig.github.api_requests())
    code, report = rig.json(str(tree))
    assert code == 1 and len(rig.github.api_requests()) == first  # fresh cache: nothing asked
    assert "sha-comment-mismatch" in rules_at(report, "docker/build-push-action")
    cache_path = rig.config.state_dir / "scan-github-cache.json"
    cache = json.loads(cache_path.read_text())
    for entry in cache["tags"].values():
        entry["checked_at"] = 0  # stale: the next run revalidates
    cache_path.write_text(json.dumps(cache))
    rig.json(str(tree))
    again = [r for r in rig.github.requests[first:] if "matching-refs" in r.path]
    assert len(again) == 2 and all(r.conditional and r.status == 304 for r in again)


def test_offline_says_not_checked_and_exits_3(rig: ScanRig):
    tree = rig.tree("trivy-scan")
    code, report = rig.json(str(tree), "--offline")
    assert code == NOT_CHECKED
    assert report["summary"]["not_checked"] == 2
    for repo in UNPINNED_REPOS:
        assert "not-checked" in rules_at(report, repo)
    assert not rig.github.requests


def test_no_token_says_not_checked(make_rig: Callable[..., ScanRig]):
    rig = make_rig(token=False)
    code, report = rig.json(str(rig.tree("trivy-scan")))
    assert code == NOT_CHECKED
    messages = [f["message"] for f in report["findings"] if f["rule"] == "not-checked"]
    assert messages and all("no [github] token_file" in m for m in messages)


def test_rate_limit_says_not_checked_and_stops_asking(rig: ScanRig):
    rig.github.rate_limit(seconds=3600, count=5)
    code, report = rig.json(str(rig.tree("trivy-scan")))
    assert code == NOT_CHECKED
    assert report["summary"]["not_checked"] == 2
    assert "rate limit" in next(
        f["message"] for f in report["findings"] if f["rule"] == "not-checked"
    )
    assert len(rig.github.api_requests()) == 1  # the first refusal stops further asks


def test_a_clean_tree_exits_0_and_below_threshold_findings_do_not_count(rig: ScanRig):
    tree = rig.tmp_path / "clean"
    (tree / ".github/workflows").mkdir(parents=True)
    (tree / ".github/workflows/ok.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n"
        "      - run: make test\n"
    )
    assert rig.run(str(tree))[0] == 0
    (tree / ".github/workflows/ok.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    container: golang:1.23\n"
    )
    assert rig.run(str(tree))[0] == 1
    assert rig.run(str(tree), "--fail-on", "high")[0] == 0
