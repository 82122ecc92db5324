"""The catalogue of findings: stable rule ids, their default severity and what they mean."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.scan.model import Severity

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {name: len(SEVERITIES) - index for index, name in enumerate(SEVERITIES)}
# GitHub code scanning reads `security-severity`: >= 9 critical, 7-8.9 high, 4-6.9 medium.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity  # the default; a finding may be raised or lowered by what it found
    summary: str
    help: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "unpinned-action",
            "high",
            "Action or reusable workflow referenced by a movable ref",
            "A tag or branch can be moved to other code at any time (in March 2026, 76 of 77 "
            "trivy-action tags were). Reference the full commit SHA, with the version as a "
            "trailing comment: `uses: owner/repo@<sha> # v1.2.3`. `toolgate scan --fix` does "
            "this from commits toolgate verified.",
        ),
        Rule(
            "unpinned-image",
            "medium",
            "Container image referenced without a digest",
            "An image tag can be re-pushed. Reference the image by digest "
            "(`image@sha256:…`), keeping the tag in a comment.",
        ),
        Rule(
            "unknown-tool",
            "medium",
            "Tool fetched by the pipeline is not in toolgate's inventory",
            "toolgate cannot vouch for a tool it does not watch. Add a `[[tool]]` table "
            "(`toolgate scan --suggest-inventory` drafts them) and approve the versions you use.",
        ),
        Rule(
            "tag-moved",
            "critical",
            "Tag points at another commit than toolgate first saw",
            "The tag was moved after toolgate recorded it: the code it runs now is not the code "
            "that was verified. Pin the first-seen commit SHA and investigate.",
        ),
        Rule(
            "sha-comment-mismatch",
            "high",
            "Pinned commit is not the commit of the version its comment claims",
            "The trailing comment says one version, the SHA is another commit (a typo, a stale "
            "comment, or an impostor commit). Pin the commit the tag points at.",
        ),
        Rule(
            "impostor-commit",
            "critical",
            "Pinned commit does not belong to the action's repository branches",
            "toolgate recorded this commit as unknown to the repository or not reachable from "
            "a protected branch: a fork's commit served through the parent repository.",
        ),
        Rule(
            "policy-deny",
            "high",
            "toolgate's policy denies this version now",
            "The decision policy denies this exact version (see the reason codes). Move to the "
            "newest allowed version.",
        ),
        Rule(
            "policy-warn",
            "low",
            "toolgate's policy answers warn for this version",
            "Allowed, but the policy has reasons to warn (see the reason codes).",
        ),
        Rule(
            "pipe-to-shell",
            "high",
            "Script downloaded and piped into a shell",
            "`curl … | sh` runs whatever the server sends at that moment, unverified. Download "
            "a versioned release asset, check its digest (`toolgate check --sha256`), then run it.",
        ),
        Rule(
            "unpinned-install",
            "medium",
            "Package or release installed without an exact version",
            "Without an exact version the pipeline fetches whatever is newest, including a "
            "release published minutes ago. Name the exact version.",
        ),
        Rule(
            "unresolvable-version",
            "low",
            "Version comes from a template or variable",
            "The version is computed at run time (`${{ matrix.version }}`, `$VAR`); the scan "
            "does not guess it. Make sure every value it takes is approved, or write it out.",
        ),
        Rule(
            "not-checked",
            "medium",
            "A check could not run",
            "A check needed GitHub (no token, rate limit, offline) or toolgate's store and "
            "could not run: this is not a clean result. Configure `[github] token_file` and "
            "scan again without `--offline`.",
        ),
        Rule(
            "parse-error",
            "medium",
            "Workflow file is not valid YAML",
            "The file could not be read as YAML, so nothing in it was checked.",
        ),
        Rule(
            "file-skipped",
            "low",
            "File not scanned",
            "The file was skipped: too large, binary, unreadable, or a symlink leaving the "
            "scanned tree (never followed).",
        ),
    )
}


def at_least(severity: Severity, threshold: Severity) -> bool:
    """Whether `severity` is `threshold` or worse."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]
