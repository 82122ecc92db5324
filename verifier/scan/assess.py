"""Judge each reference against the inventory, toolgate's recorded pins and the decision policy.

Decisions come from the policy snapshot (`Snapshot.answer`), exactly as the decision API gives
them; this module only says which tool and version a reference names and adds what only a
scan can see (movable refs, comments that lie, installs without versions). A check that cannot
run yields `not-checked`, never silence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from verifier.config import Config, ToolConfig
from verifier.policy import Query
from verifier.scan.github_checks import CheckUnavailable, GitHubChecks
from verifier.scan.model import Finding, PinFix, Reference, Severity
from verifier.scan.pins import RecordedPins
from verifier.snapshot import Snapshot
from verifier.sources.naming import github_repo, pypi_project


class ToolIndex:
    """Which inventory tool a reference names: by GitHub repository, PyPI project or name."""

    def __init__(self, config: Config) -> None:
        self._by_repo: dict[tuple[str, str], ToolConfig] = {}
        self._by_pypi: dict[str, ToolConfig] = {}
        self._by_name = {tool.name.lower(): tool for tool in config.tools}
        for tool in config.tools:
            if (repo := github_repo(tool)) is not None:
                self._by_repo.setdefault((repo.lower(), tool.kind), tool)
            if (project := pypi_project(tool)) is not None:
                self._by_pypi[_pep503(project)] = tool

    def find(self, reference: Reference) -> ToolConfig | None:
        kind = "action" if reference.kind in ("action", "reusable-workflow") else "binary"
        if reference.repo is not None:
            return self._by_repo.get((reference.repo.lower(), kind))
        if reference.kind == "pip":
            return self._by_pypi.get(_pep503(reference.subject.removeprefix("pypi:")))
        if reference.kind == "image":
            return self._by_name.get(reference.subject.rsplit("/", 1)[-1].lower())
        if reference.kind == "setup-version":
            return self._by_name.get(reference.subject.lower())
        return None


def _pep503(name: str) -> str:
    return "-".join(name.replace("_", "-").replace(".", "-").lower().split("-"))


@dataclass
class Assessor:
    """Everything judging needs: the inventory, the policy snapshot, pins, GitHub checks."""

    config: Config
    snapshot: Snapshot
    pins: RecordedPins
    github: GitHubChecks

    def __post_init__(self) -> None:
        self.index = ToolIndex(self.config)

    def assess(self, reference: Reference) -> list[Finding]:
        """The findings for one reference (none: nothing wrong that toolgate can tell)."""
        if reference.kind == "local-action":
            return []
        tool = self.index.find(reference)
        if reference.kind in ("action", "reusable-workflow"):
            return list(self._action(reference, tool))
        if reference.kind == "image":
            return list(self._image(reference, tool))
        return list(self._install(reference, tool))

    # ---- actions ------------------------------------------------------------------------

    def _action(self, ref: Reference, tool: ToolConfig | None) -> Iterator[Finding]:
        if tool is None:
            yield self._unknown(ref)
        if ref.pin == "templated":
            yield self._unresolvable(ref)
        elif ref.pin in ("branch", "missing"):
            what = "no ref" if ref.pin == "missing" else f"branch-like ref {ref.ref!r}"
            yield _finding(
                "unpinned-action",
                "high",
                f"{ref.subject} is used with {what}: whatever that names at run time is run",
                "pin the full commit SHA of a verified release, with its version as a comment",
                ref,
            )
        elif ref.pin == "tag":
            yield from self._tag_ref(ref, tool)
        elif ref.pin == "sha":
            yield from self._sha_ref(ref, tool)

    def _tag_ref(self, ref: Reference, tool: ToolConfig | None) -> Iterator[Finding]:
        assert ref.ref is not None
        pin = self.pins.tag(tool.name, ref.ref) if tool else None
        pin_fix = None
        fix = "pin the full commit SHA of the tag once verified (add the action to the inventory)"
        if tool is not None and pin is not None and self.pins.verified(tool.name, ref.ref):
            denied = self._denied(tool.name, pin.commit)
            if denied is None:
                pin_fix = PinFix(pin.commit, ref.ref)
                fix = f"pin {pin.commit} # {ref.ref} (verified by toolgate; `--fix` does it)"
            else:
                fix = f"the verified commit of {ref.ref} is denied now: {denied}"
        elif tool is not None:
            fix = (
                f"toolgate has not verified {ref.ref}: wait for the watcher or pick a verified tag"
            )
        yield _finding(
            "unpinned-action",
            "medium",
            f"{ref.subject}@{ref.ref} is a tag: it can be moved to other code at any time",
            fix,
            ref,
            pin_fix=pin_fix,
        )
        moved = pin is not None and pin.moved  # a pin is only looked up for inventory tools
        if pin is not None and moved:
            yield _finding(
                "tag-moved",
                "critical",
                f"tag {ref.ref} of {ref.subject} now points at {pin.current_commit}; toolgate "
                f"first saw it at {pin.commit}",
                f"pin the first-seen commit {pin.commit} and investigate the move",
                ref,
            )
        if tool is not None:
            yield from self._policy(ref, tool.name, ref.ref, skip=("tag-moved",) if moved else ())

    def _sha_ref(self, ref: Reference, tool: ToolConfig | None) -> Iterator[Finding]:
        assert ref.ref is not None and ref.repo is not None
        commit = ref.ref.lower()
        unchecked: dict[str, str] = {}  # what could not be checked -> why
        if ref.comment is not None:
            try:
                yield from self._comment_claim(ref, tool, commit, ref.comment)
            except CheckUnavailable as exc:
                unchecked[f"whether {commit[:12]} is {ref.comment}"] = str(exc)
        try:
            yield from self._provenance(ref, tool, commit)
        except CheckUnavailable as exc:
            unchecked[f"whether {commit[:12]} belongs to {ref.repo}"] = str(exc)
        if unchecked:
            why = "; ".join(dict.fromkeys(unchecked.values()))
            yield self._not_checked(ref, f"{' or '.join(unchecked)}: {why}")
        if tool is not None:
            yield from self._policy(ref, tool.name, commit)

    def _provenance(
        self, ref: Reference, tool: ToolConfig | None, commit: str
    ) -> Iterator[Finding]:
        """Impostor check: is the commit the repository's own (recorded first, then GitHub)?"""
        assert ref.repo is not None
        status = self.pins.commit_status(ref.repo, commit)
        source = "recorded by toolgate"
        if status is None and not (tool and self.pins.vouches(tool.name, commit)):
            status, _branch = self.github.reachability(ref.repo, commit)
            source = "GitHub"
        if status == "unknown-commit":
            yield _finding(
                "impostor-commit",
                "critical",
                f"commit {commit} is unknown to {ref.repo} ({source}): a fork's commit served "
                "through the repository?",
                "pin a commit of a verified release of the action itself",
                ref,
            )
        elif status == "not-on-branch":
            yield _finding(
                "impostor-commit",
                "high",
                f"commit {commit} is not reachable from the default branch of {ref.repo} "
                f"({source})",
                "pin the commit of a release tag on the default branch",
                ref,
            )

    def _comment_claim(
        self, ref: Reference, tool: ToolConfig | None, commit: str, claim: str
    ) -> Iterator[Finding]:
        """The comment's version against toolgate's pin, else GitHub (CheckUnavailable)."""
        assert ref.repo is not None
        pin = self.pins.tag(tool.name, claim) if tool else None
        if pin is not None:
            if commit == pin.commit:
                return
            if commit == pin.current_commit:
                yield _finding(
                    "tag-moved",
                    "critical",
                    f"{commit} is where {claim} points after it was moved; toolgate first saw "
                    f"{claim} at {pin.commit}",
                    f"pin the first-seen commit {pin.commit} # {claim}",
                    ref,
                )
                return
            expected: str | None = pin.commit
        else:
            expected = self.github.commit_of(ref.repo, claim)
            if expected == commit:
                return
        found = f"{claim} is {expected}" if expected else f"{ref.repo} has no tag {claim}"
        yield _finding(
            "sha-comment-mismatch",
            "high",
            f"the comment says {claim} but the pinned commit is {commit}; {found}",
            f"pin {expected} # {claim}" if expected else "fix the comment or the pinned commit",
            ref,
        )

    # ---- images and installs ------------------------------------------------------------

    def _image(self, ref: Reference, tool: ToolConfig | None) -> Iterator[Finding]:
        if ref.pin == "digest":
            return
        if ref.pin == "templated":
            yield self._unresolvable(ref)
            return
        latest = ref.pin == "missing"
        yield _finding(
            "unpinned-image",
            "high" if latest else "medium",
            f"image {ref.text} is " + ("untagged or `latest`" if latest else "pinned by tag only"),
            "reference the image by digest: name:tag@sha256:…",
            ref,
        )
        if tool is not None and ref.pin == "tag" and ref.ref:
            yield from self._policy(ref, tool.name, ref.ref)

    def _install(self, ref: Reference, tool: ToolConfig | None) -> Iterator[Finding]:
        if ref.kind == "pipe-to-shell":
            yield _finding(
                "pipe-to-shell",
                "high",
                f"a script from {ref.text} is piped into a shell unverified",
                "download a release asset by exact version and check its digest before running",
                ref,
            )
        if tool is None and (ref.repo is not None or ref.kind == "pip"):
            yield self._unknown(ref)
        elif tool is None and ref.kind in ("go", "npm", "setup-version"):
            yield self._unknown(ref, "low")  # no source toolgate could watch is known
        if ref.pin == "templated":
            yield self._unresolvable(ref)
        elif ref.pin in ("missing", "range"):
            written = f"{ref.ref!r}" if ref.ref else "no version"
            yield _finding(
                "unpinned-install",
                "medium",
                f"{ref.subject} is installed with {written}: whatever is newest is fetched",
                "name the exact version (one toolgate allows)",
                ref,
            )
        elif tool is not None and ref.ref is not None:
            yield from self._policy(ref, tool.name, ref.ref, asset=ref.asset)

    # ---- shared -------------------------------------------------------------------------

    def _denied(self, tool: str, version: str) -> str | None:
        """None when the policy does not deny `version` now (nor would, in warn mode), else the
        reason codes."""
        decision = self.snapshot.answer(Query(tool, version)).decision
        if decision.outcome == "deny" or decision.would_deny:
            return ", ".join(reason.code for reason in decision.reasons)
        return None

    def _policy(
        self,
        ref: Reference,
        tool: str,
        version: str,
        *,
        asset: str | None = None,
        skip: tuple[str, ...] = (),
    ) -> Iterator[Finding]:
        answer = self.snapshot.answer(Query(tool, version, asset=asset))
        decision = answer.decision
        reasons = [r for r in decision.reasons if r.code not in skip and r.code != "override"]
        if decision.outcome == "allow" or not reasons:
            return
        codes = tuple(reason.code for reason in reasons)
        detail = "; ".join(
            reason.code + (f" (found {reason.found})" if reason.found else "") for reason in reasons
        )
        newest = answer.newest_allowed
        fix = (
            f"use {newest}, the newest version allowed now"
            if newest
            else "no version of it is allowed now"
        )
        if decision.outcome == "deny" or decision.would_deny:
            mode = "would deny (warn mode)" if decision.would_deny else "denies"
            yield _finding(
                "policy-deny",
                "medium" if decision.would_deny else "high",
                f"toolgate {mode} {tool} {version}: {detail}",
                fix,
                ref,
                reasons=codes,
            )
        else:
            yield _finding(
                "policy-warn",
                "low",
                f"toolgate warns for {tool} {version}: {detail}",
                fix,
                ref,
                reasons=codes,
            )

    def _unknown(self, ref: Reference, severity: Severity = "medium") -> Finding:
        return _finding(
            "unknown-tool",
            severity,
            f"{ref.subject} is fetched here but is not in toolgate's inventory",
            "add a [[tool]] table for it (`toolgate scan --suggest-inventory`)",
            ref,
        )

    def _unresolvable(self, ref: Reference) -> Finding:
        return _finding(
            "unresolvable-version",
            "low",
            f"the version of {ref.subject} is computed at run time ({ref.ref or ref.text}): "
            "not checked, not guessed",
            "write the version out, or make sure every value it can take is approved",
            ref,
        )

    def _not_checked(self, ref: Reference, what: str) -> Finding:
        return _finding(
            "not-checked",
            "medium",
            f"could not check {what}",
            "configure [github] token_file and scan again online; until then this is unknown",
            ref,
        )


def _finding(
    rule: str,
    severity: Severity,
    message: str,
    fix: str,
    reference: Reference,
    *,
    reasons: tuple[str, ...] = (),
    pin_fix: PinFix | None = None,
) -> Finding:
    return Finding(rule, severity, message, fix, reference.location, reference, reasons, pin_fix)
