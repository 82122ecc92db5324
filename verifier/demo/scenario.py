"""The demo's scenario as data: what happens upstream and when, what runners ask, what toolgate
must conclude, which alerts must go out and whom the exposure report must name.

Times are simulated (UTC, March 2026). They follow the public timeline where it is documented
(v0.69.4 live 18:22-21:42 on 19 March; Docker Hub-only 0.69.5/0.69.6 from 15:43 on 22 March;
GHSA-69fq-xp46-6x23 published 17:05 on 22 March); the other times of 19 March are approximate.
The demo shows a few representative tags where the attacker moved dozens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Outcome = Literal["allow", "warn", "deny"]

TRIVY = "aquasecurity/trivy"
TRIVY_ACTION = "aquasecurity/trivy-action"
SETUP_TRIVY = "aquasecurity/setup-trivy"
CHECKOUT = "actions/checkout"
LINUX_64 = "trivy_{version}_Linux-64bit.tar.gz"
LINUX_ARM64 = "trivy_{version}_Linux-ARM64.tar.gz"
ADVISORY = "GHSA-69fq-xp46-6x23"


def commit_sha(name: str) -> str:
    """The demo's stand-in for a commit: a stable 40-hex SHA per name."""
    return hashlib.sha1(f"toolgate-demo:{name}".encode()).hexdigest()


# ---- what can happen upstream ---------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    """A commit of `repo` on `branch` (None: pushed with a tag, on no branch); with `fork`, a
    commit only that fork has (served through the parent's URL: an impostor commit)."""

    name: str
    repo: str
    branch: str | None = "main"
    fork: str | None = None


@dataclass(frozen=True)
class SignedRelease:
    """A Trivy-shaped release of `tag` built from `commit` and signed by the release workflow."""

    repo: str
    tag: str
    commit: str


@dataclass(frozen=True)
class Tags:
    """Tags created, or force-moved, to `commit`."""

    repo: str
    tags: tuple[str, ...]
    commit: str


@dataclass(frozen=True)
class TakeDown:
    """A release deleted upstream (the tag stays)."""

    repo: str
    tag: str


@dataclass(frozen=True)
class PublishAdvisory:
    """An advisory published on the feeds: its OSV record and GitHub's REST record."""

    advisory: str


Action = Commit | SignedRelease | Tags | TakeDown | PublishAdvisory


# ---- what runners ask and what toolgate must conclude -----------------------------------------


@dataclass(frozen=True)
class Ask:
    """A runner asks before fetching: by version, by full commit SHA (`commit`), or with the
    sha256 of the file it downloaded (`asset`)."""

    runner: str
    team: str
    tool: str
    version: str = ""
    commit: str | None = None
    asset: str | None = None
    expect: Outcome = "deny"
    why: str = ""


@dataclass(frozen=True)
class Detect:
    """toolgate must come to give `tool version` the reason `code`."""

    tool: str
    version: str
    code: str


@dataclass(frozen=True)
class Step:
    """One moment of the timeline: upstream actions, runners asking at first sight (before
    toolgate could have polled), what toolgate must detect, runners asking afterwards, and
    the alerts (subject fragments) that must go out."""

    at: datetime
    title: str
    detail: str = ""
    malicious: bool = False
    label: str = ""  # a short name for the summary (default: the title)
    actions: tuple[Action, ...] = ()
    first_sight: tuple[Ask, ...] = ()
    detect: tuple[Detect, ...] = ()
    asks: tuple[Ask, ...] = ()
    alerts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    title: str
    installed_at: datetime  # when toolgate starts, with the prelude already upstream
    prelude: tuple[Action, ...]
    settled: tuple[tuple[str, str], ...]  # (tool, version) allowed before the timeline starts
    steps: tuple[Step, ...]
    exposed: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


IMPOSTOR_CHECKOUT = commit_sha("fork-checkout")

TRIVY_2026 = Scenario(
    title="The March 2026 Trivy compromise (CVE-2026-33634)",
    installed_at=_at(18, 10, 0),
    prelude=(
        Commit("trivy-0.69.2", TRIVY),
        Commit("trivy-0.69.3", TRIVY),
        SignedRelease(TRIVY, "v0.69.2", "trivy-0.69.2"),
        SignedRelease(TRIVY, "v0.69.3", "trivy-0.69.3"),
        Commit("action-0.33.1", TRIVY_ACTION),
        Commit("action-0.34.2", TRIVY_ACTION),
        Commit("action-0.35.0", TRIVY_ACTION),
        Tags(TRIVY_ACTION, ("0.33.1",), "action-0.33.1"),
        Tags(TRIVY_ACTION, ("0.34.2",), "action-0.34.2"),
        Tags(TRIVY_ACTION, ("0.35.0",), "action-0.35.0"),
        Commit("setup-0.2.5", SETUP_TRIVY),
        Commit("setup-0.2.6", SETUP_TRIVY),
        Tags(SETUP_TRIVY, ("v0.2.5",), "setup-0.2.5"),
        Tags(SETUP_TRIVY, ("v0.2.6",), "setup-0.2.6"),
        Commit("checkout-4.2.2", CHECKOUT),
        Tags(CHECKOUT, ("v4.2.2",), "checkout-4.2.2"),
        Commit("fork-checkout", CHECKOUT, fork="attacker/checkout"),
    ),
    settled=(
        ("trivy", "v0.69.3"),
        (TRIVY_ACTION, "0.34.2"),
        (TRIVY_ACTION, "0.35.0"),
        (SETUP_TRIVY, "v0.2.5"),
        (CHECKOUT, "v4.2.2"),
    ),
    steps=(
        Step(
            _at(19, 9, 0),
            "An ordinary morning: pipelines ask toolgate before fetching",
            "trivy 0.69.2/0.69.3 were built and signed from main; toolgate verified them, and "
            "pinned each action tag's commit, when it was installed on 18 March.",
            asks=(
                Ask(
                    "gha-platform-01",
                    "team-platform",
                    "trivy",
                    "0.69.3",
                    asset=LINUX_64,
                    expect="allow",
                    why="signed by the release workflow from main",
                ),
                Ask("gha-platform-02", "team-platform", TRIVY_ACTION, "0.35.0", expect="allow"),
                Ask("gl-payments-07", "team-payments", TRIVY_ACTION, "0.34.2", expect="allow"),
                Ask(
                    "gha-payments-08",
                    "team-payments",
                    TRIVY_ACTION,
                    commit="action-0.34.2",
                    expect="allow",
                    why="pinned by full commit SHA",
                ),
                Ask("gha-data-03", "team-data", SETUP_TRIVY, "v0.2.5", expect="allow"),
            ),
        ),
        Step(
            _at(19, 17, 43),
            "trivy-action: tags force-pushed to malicious commits",
            "76 of 77 tags (0.0.1-0.34.2) now point at new commits; 0.35.0, an immutable "
            "release, is untouched. Until toolgate's next poll a moved tag still answers with "
            "the commit it pinned: pin actions by full SHA.",
            malicious=True,
            label="trivy-action tags moved",
            actions=(
                Commit("action-evil", TRIVY_ACTION, branch=None),
                Tags(TRIVY_ACTION, ("0.33.1", "0.34.2"), "action-evil"),
            ),
            detect=(
                Detect(TRIVY_ACTION, "0.34.2", "tag-moved"),
                Detect(TRIVY_ACTION, "0.33.1", "tag-moved"),
            ),
            asks=(
                Ask("gl-payments-07", "team-payments", TRIVY_ACTION, "0.34.2"),
                Ask(
                    "gha-payments-08",
                    "team-payments",
                    TRIVY_ACTION,
                    commit="action-0.34.2",
                    expect="allow",
                    why="the commit toolgate saw first",
                ),
                Ask("gha-platform-02", "team-platform", TRIVY_ACTION, "0.35.0", expect="allow"),
            ),
            alerts=(f"DENY {TRIVY_ACTION} 0.34.2", f"DENY {TRIVY_ACTION} 0.33.1"),
        ),
        Step(
            _at(19, 17, 58),
            "setup-trivy: every tag replaced by a commit from a fork",
            "team-data is still rolling setup-trivy out: its tool is in warn mode, so toolgate "
            "answers warn where it would deny, and those pipelines go ahead.",
            malicious=True,
            label="setup-trivy tags replaced",
            actions=(
                Commit("setup-evil", SETUP_TRIVY, fork="attacker/setup-trivy"),
                Tags(SETUP_TRIVY, ("v0.2.5", "v0.2.6"), "setup-evil"),
            ),
            detect=(Detect(SETUP_TRIVY, "v0.2.5", "tag-moved"),),
            asks=(
                Ask(
                    "gha-data-03",
                    "team-data",
                    SETUP_TRIVY,
                    "v0.2.5",
                    expect="warn",
                    why="warn mode: fetched anyway",
                ),
                Ask(
                    "gha-data-04",
                    "team-data",
                    SETUP_TRIVY,
                    "v0.2.5",
                    expect="warn",
                    why="warn mode: fetched anyway",
                ),
            ),
            alerts=(f"WARN {SETUP_TRIVY} v0.2.5", "2 runners fetched it"),
        ),
        Step(
            _at(19, 18, 22),
            "trivy v0.69.4 released: validly signed, built from an attacker's tag",
            "The attacker pushed tag v0.69.4 at a commit that is not on main; Trivy's own "
            "release workflow built and signed it. That commit's workflow checks out "
            f"actions/checkout@{IMPOSTOR_CHECKOUT[:12]}…, a commit that exists only in a fork.",
            malicious=True,
            label="trivy v0.69.4 release",
            actions=(
                Commit("trivy-0.69.4", TRIVY, branch=None),
                SignedRelease(TRIVY, "v0.69.4", "trivy-0.69.4"),
            ),
            first_sight=(
                Ask(
                    "gha-platform-01",
                    "team-platform",
                    "trivy",
                    "0.69.4",
                    why="asked before toolgate polled: nothing verified yet",
                ),
                Ask(
                    "gha-release-05",
                    "team-platform",
                    CHECKOUT,
                    commit="fork-checkout",
                    why="the impostor checkout SHA, in a pull request's workflow",
                ),
            ),
            detect=(Detect("trivy", "v0.69.4", "commit-not-on-branch"),),
            asks=(Ask("gha-platform-03", "team-platform", "trivy", "0.69.4", asset=LINUX_64),),
            alerts=("DENY trivy v0.69.4",),
        ),
        Step(
            _at(19, 21, 42),
            "v0.69.4 taken down upstream",
            "The release disappears from GitHub; toolgate keeps what it saw and keeps denying.",
            actions=(TakeDown(TRIVY, "v0.69.4"),),
            asks=(Ask("gha-platform-01", "team-platform", "trivy", "0.69.4"),),
        ),
        Step(
            _at(22, 15, 43),
            "Docker Hub-only images 0.69.5 and 0.69.6 pushed (no GitHub release)",
            "Nothing toolgate watches ever verified these versions: they are unknown, denied.",
            malicious=True,
            label="Docker Hub 0.69.5/0.69.6",
            first_sight=(
                Ask(
                    "jenkins-12",
                    "team-platform",
                    "trivy",
                    "0.69.5",
                    why="image tag aquasec/trivy:0.69.5",
                ),
                Ask(
                    "jenkins-12",
                    "team-platform",
                    "trivy",
                    "0.69.6",
                    why="image tag aquasec/trivy:0.69.6",
                ),
            ),
        ),
        Step(
            _at(22, 17, 5),
            f"Advisory {ADVISORY} / CVE-2026-33634 published (OSV and GitHub advisory feeds)",
            "Malicious code (CWE-506): trivy 0.69.4-0.69.6, trivy-action before 0.35.0, "
            "setup-trivy before 0.2.6. The alerts now name who fetched what.",
            actions=(PublishAdvisory(ADVISORY),),
            detect=(
                Detect("trivy", "v0.69.4", "advisory"),
                Detect(TRIVY_ACTION, "0.34.2", "advisory"),
                Detect(SETUP_TRIVY, "v0.2.5", "advisory"),
            ),
            asks=(
                Ask("jenkins-12", "team-platform", "trivy", "0.69.6"),
                Ask(
                    "gha-payments-08",
                    "team-payments",
                    TRIVY_ACTION,
                    commit="action-0.34.2",
                    why="the advisory covers every commit tag 0.34.2 named; a waiver would keep it",
                ),
                Ask(
                    "gha-platform-01",
                    "team-platform",
                    "trivy",
                    "0.69.3",
                    asset=LINUX_64,
                    expect="allow",
                    why="the vendor's safe version",
                ),
            ),
            alerts=(f"{SETUP_TRIVY} v0.2.5 — {ADVISORY}", f"{TRIVY_ACTION} 0.34.2 — {ADVISORY}"),
        ),
    ),
    exposed={
        (SETUP_TRIVY, "v0.2.5"): frozenset({"gha-data-03", "gha-data-04"}),
        (TRIVY_ACTION, "0.34.2"): frozenset({"gl-payments-07"}),
        (TRIVY_ACTION, commit_sha("action-0.34.2")): frozenset({"gha-payments-08"}),
    },
)
