"""The value objects of a scan: where something is, what it fetches, what is wrong with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["critical", "high", "medium", "low", "info"]

ReferenceKind = Literal[
    "action",  # uses: owner/repo[/path]@ref
    "reusable-workflow",  # jobs.<id>.uses: owner/repo/.github/workflows/x.yml@ref
    "local-action",  # uses: ./path
    "image",  # docker://, container:, services:, GitLab image:
    "setup-version",  # with: version: v0.69.4 passed to a setup action
    "release-asset",  # curl/wget of a GitHub release download URL
    "pipe-to-shell",  # curl … | sh
    "pip",
    "go",
    "npm",
]

# How a reference names what it fetches: only `sha` and `digest` name immutable content.
Pin = Literal["sha", "tag", "branch", "missing", "digest", "version", "templated", "range"]


@dataclass(frozen=True, slots=True)
class Location:
    """A position in a scanned file: `path` relative to the scanned root, 1-based line/column."""

    path: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Span:
    """Where a scalar's source text lies in the file (character offsets), for `--fix`."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Reference:
    """One thing a pipeline fetches, as written.

    `subject` names it (`actions/checkout`, `docker.io/aquasec/trivy`, `pypi:requests`);
    `repo` is its GitHub OWNER/REPO when known; `ref` the tag, commit, version or digest written;
    `comment` the version a trailing comment claims (`@<sha> # v4.2.2`); `via` the setup action
    that installs a tool version.
    """

    kind: ReferenceKind
    subject: str
    ref: str | None
    pin: Pin
    location: Location
    text: str
    repo: str | None = None
    comment: str | None = None
    asset: str | None = None
    via: str | None = None
    span: Span | None = field(default=None, compare=False)

    def label(self) -> str:
        """`subject@ref` as a reader would write it."""
        if self.ref is None:
            return self.subject
        separator = "@" if self.kind in ("action", "reusable-workflow", "go", "npm") else " "
        if self.kind == "image":
            separator = "@" if self.pin == "digest" else ":"
        return f"{self.subject}{separator}{self.ref}"


@dataclass(frozen=True, slots=True)
class PinFix:
    """A verified rewrite for `--fix`: the tag ref becomes `commit`, commented `# tag`."""

    commit: str
    tag: str


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong with a reference (or a file): a rule, a severity and what to do."""

    rule: str
    severity: Severity
    message: str
    fix: str
    location: Location
    reference: Reference | None = None
    reasons: tuple[str, ...] = ()  # the policy's reason codes, for policy-* rules
    pin_fix: PinFix | None = None

    @property
    def checked(self) -> bool:
        return self.rule != "not-checked"


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything one scan found, in file order."""

    roots: tuple[str, ...]
    files: tuple[str, ...]
    references: tuple[Reference, ...]
    findings: tuple[Finding, ...]

    @property
    def not_checked(self) -> int:
        return sum(1 for finding in self.findings if not finding.checked)
