"""Exposure: the runners that were allowed to fetch a build that is now denied.

Computed from the decision audit trail, grouped per (token, runner, job) and the build each asked
for (the `sha256` it named, if any), with the first and last fetch, so an operator knows whose
credentials to rotate. A runner that sent no `X-Toolgate-Runner` is known by its token alone.

Exposure names builds, not only versions: a runner that named the digest toolgate verified and
that is still allowed now fetched the genuine build (`genuine`), and is told so instead of being
told to rotate credentials. Every other fetch of a now-denied build was not positively verified
(no digest named, or a digest now denied), and the rotation advice is for those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from verifier.policy import Query
from verifier.store.models import DecisionLogRow, ReleaseRow
from verifier.versioning import canonical_version

if TYPE_CHECKING:  # the snapshot module needs this one (through incidents and alerts)
    from verifier.snapshot import Snapshot

EXPOSING_DECISIONS = ("allow", "warn")

ADVICE = (
    "Rotate every credential the listed jobs could reach: CI secrets and variables, cloud and "
    "registry keys, deploy and SSH keys, and the job's own tokens. The March 2026 payload read "
    "runner process memory and credential files, so treat all of them as stolen.",
    "In every account those credentials opened, list the access keys, tokens and users created "
    "since the first fetch and delete those nobody here created: in March 2026 the stolen key "
    "was used to create new access keys on an existing user, which kept the attacker in after "
    "the first key was revoked.",
    "Look for repositories, gists, releases or webhooks created by the pipelines' identities "
    "since the first fetch (the March 2026 payload exfiltrated into a new public repository).",
    "Pin the tool to a version toolgate allows (and actions to full commit SHAs) before re-running "
    "the jobs.",
)
NO_EXPOSURE_ADVICE = (
    "No runner fetched it through toolgate. Check pipelines that fetch tools without asking "
    "toolgate: they are not in this list.",
)
GENUINE_ADVICE = (
    "Every listed runner fetched the genuine build: it named the sha256 toolgate verified, and "
    "those bytes are still allowed. No credential rotation is needed for them. Check pipelines "
    "that fetch tools without asking toolgate: they are not in this list.",
)
NOW_ALLOWED_ADVICE = (
    "It is now answered allow: what the listed runners fetched is positively verified, so no "
    "credential rotation is needed.",
)

Judge = Callable[[str, str | None], str]
"""`judge(version, sha256)`: the outcome toolgate answers now for that build of the tool."""


@dataclass(frozen=True, slots=True)
class ExposedRunner:
    """One job of one runner that fetched a build, with when it first and last did.

    `version` and `sha256` are what it asked for (`sha256` None: it named no digest, so toolgate
    cannot tell which bytes it got); `genuine` is set when that digest is still allowed now.
    """

    token_name: str
    runner: str | None
    job: str | None
    first_fetch: datetime
    last_fetch: datetime
    fetches: int
    version: str | None = None
    sha256: str | None = None
    genuine: bool = False

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.token_name, self.runner or "", self.job or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_name": self.token_name,
            "runner": self.runner,
            "job": self.job,
            "first_fetch": self.first_fetch.isoformat(),
            "last_fetch": self.last_fetch.isoformat(),
            "fetches": self.fetches,
            "version": self.version,
            "sha256": self.sha256,
            "genuine": self.genuine,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExposedRunner:
        return cls(
            token_name=data["token_name"],
            runner=data["runner"],
            job=data["job"],
            first_fetch=datetime.fromisoformat(data["first_fetch"]),
            last_fetch=datetime.fromisoformat(data["last_fetch"]),
            fetches=int(data["fetches"]),
            version=data.get("version"),
            sha256=data.get("sha256"),
            genuine=bool(data.get("genuine", False)),
        )


@dataclass(frozen=True, slots=True)
class Exposure:
    """Who fetched `tool` (at `version`, or the bytes `sha256`, or a release of `commit`)."""

    tool: str
    version: str | None
    sha256: str | None
    commit: str | None
    runners: tuple[ExposedRunner, ...]
    now_allowed: bool = False  # what is named is answered allow now (set by `judged`)

    @property
    def runner_count(self) -> int:
        """Distinct runners (a runner without an id counts once per token)."""
        return len({(r.token_name, r.runner) for r in self.runners})

    @property
    def at_risk(self) -> tuple[ExposedRunner, ...]:
        """The fetches not positively verified: whose credentials to rotate."""
        if self.now_allowed:
            return ()
        return tuple(r for r in self.runners if not r.genuine)

    @property
    def at_risk_count(self) -> int:
        return len({(r.token_name, r.runner) for r in self.at_risk})

    def judged(self, judge: Judge, now_allowed: bool) -> Exposure:
        """This exposure with each fetch marked `genuine` when the digest it named is allowed
        now (`judge` answers for a build), and `now_allowed` when what it names is."""
        runners = tuple(
            replace(r, genuine=r.sha256 is not None and judge(r.version or "", r.sha256) == "allow")
            for r in self.runners
        )
        return replace(self, runners=runners, now_allowed=now_allowed)

    @property
    def first_fetch(self) -> datetime | None:
        return min((r.first_fetch for r in self.runners), default=None)

    @property
    def last_fetch(self) -> datetime | None:
        return max((r.last_fetch for r in self.runners), default=None)

    @property
    def advice(self) -> tuple[str, ...]:
        """What to do: rotation steps only when a runner fetched a build not positively
        verified (no digest named, or one now denied)."""
        if not self.runners:
            return NO_EXPOSURE_ADVICE
        if self.now_allowed:
            return NOW_ALLOWED_ADVICE
        return ADVICE if self.at_risk else GENUINE_ADVICE

    def identities(self) -> frozenset[tuple[str, str, str]]:
        return frozenset(r.identity for r in self.runners)

    def key(self) -> str:
        """A digest of who is exposed (not of how often): it changes when a new job is exposed."""
        material = "\n".join("\t".join(identity) for identity in sorted(self.identities()))
        return hashlib.sha256(material.encode()).hexdigest()

    def describe(self) -> str:
        """`3 runners fetched it` and the like, for subjects and chat messages."""
        count = self.runner_count
        if count == 0:
            return "no runner fetched it"
        fetched = f"{count} runner{'s' if count > 1 else ''} fetched it"
        if self.now_allowed:
            return f"{fetched}, now allowed"
        genuine = count - self.at_risk_count
        if genuine == count:
            return f"{fetched}, all the genuine build"
        return f"{fetched}, {genuine} the genuine build" if genuine else fetched

    def to_dict(self) -> dict[str, Any]:
        first, last = self.first_fetch, self.last_fetch
        return {
            "tool": self.tool,
            "version": self.version,
            "sha256": self.sha256,
            "commit": self.commit,
            "runner_count": self.runner_count,
            "first_fetch": first.isoformat() if first else None,
            "last_fetch": last.isoformat() if last else None,
            "runners": [runner.to_dict() for runner in self.runners],
            "at_risk_count": self.at_risk_count,
            "now_allowed": self.now_allowed,
            "advice": list(self.advice),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exposure:
        return cls(
            tool=data["tool"],
            version=data["version"],
            sha256=data["sha256"],
            commit=data["commit"],
            runners=tuple(ExposedRunner.from_dict(r) for r in data["runners"]),
            now_allowed=bool(data.get("now_allowed", False)),
        )


def version_spellings(version: str) -> tuple[str, str]:
    """The two names runners use for one release: `0.69.4` and `v0.69.4`."""
    canonical = canonical_version(version)
    return canonical, f"v{canonical}"


def find_exposure(
    session: Session,
    tool: str,
    version: str | None = None,
    *,
    sha256: str | None = None,
    commit: str | None = None,
) -> Exposure:
    """The runners the audit trail shows were allowed (or warned) to fetch what is named.

    With none of `version`, `sha256` and `commit`, every fetch of the tool counts (a block of
    the whole tool). A `commit` names the versions whose release was built from it.
    """
    log = DecisionLogRow.__table__.c  # type: ignore[attr-defined]
    matches = []
    if version:
        matches.append(log.version.in_(version_spellings(version)))
    if sha256:
        matches.append(log.sha256 == sha256.lower())
    if commit:
        built = select(ReleaseRow.version).where(
            ReleaseRow.tool == tool, ReleaseRow.commit == commit.lower()
        )
        names = {n for v in session.scalars(built) for n in version_spellings(v)}
        matches.append(log.version.in_(sorted(names)))
    first = func.min(log.at).label("first_fetch")
    build = (log.token_name, log.runner, log.job, log.version, log.sha256)
    statement = (
        select(*build, first, func.max(log.at), func.count())
        .where(log.tool == tool, log.decision.in_(EXPOSING_DECISIONS))
        .group_by(*build)
        .order_by(first, log.token_name)
    )
    if matches:
        statement = statement.where(or_(*matches))
    merged: dict[tuple[Any, ...], ExposedRunner] = {}
    for token, runner, job, asked, digest, first_at, last_at, count in session.execute(statement):
        key = (token, runner, job, canonical_version(asked), digest)
        if (seen := merged.get(key)) is not None:  # `0.69.4` and `v0.69.4`: one build
            first_at, last_at = min(first_at, seen.first_fetch), max(last_at, seen.last_fetch)
            count += seen.fetches
        merged[key] = ExposedRunner(
            token, runner, job, first_at, last_at, int(count), asked, digest
        )
    runners = tuple(sorted(merged.values(), key=lambda r: (r.first_fetch, r.token_name)))
    return Exposure(tool, version, sha256.lower() if sha256 else None, commit, runners)


def exposure_report(
    session: Session, snapshot: Snapshot, tool: str, version: str, sha256: str | None = None
) -> dict[str, Any]:
    """The exposure of `tool version` (or of those bytes) with what runners are told now,
    each fetch judged by build (see `judge_exposure`)."""
    decision = snapshot.answer(Query(tool, version, sha256.lower() if sha256 else None)).decision
    exposure = judge_exposure(
        snapshot, find_exposure(session, tool, version, sha256=sha256), decision.outcome
    )
    return {
        **exposure.to_dict(),
        "decision": decision.outcome,
        "reasons": [reason.to_dict() for reason in decision.reasons],
        "policy_revision": snapshot.revision,
    }


def judge_exposure(snapshot: Snapshot, exposure: Exposure, outcome: str) -> Exposure:
    """`exposure` judged against `snapshot`: each fetch's build, and whether what it names is
    answered allow now (`outcome`)."""

    return exposure.judged(_judge(snapshot, exposure.tool), outcome == "allow")


def _judge(snapshot: Snapshot, tool: str) -> Judge:
    return lambda version, sha256: snapshot.answer(Query(tool, version, sha256)).decision.outcome


def judge_named(
    snapshot: Snapshot, exposure: Exposure, version: str | None, sha256: str | None
) -> Exposure:
    """`exposure` of what an incident names (`version`, or every version when None) judged
    against `snapshot`; a tool not in it is judged as denied."""
    if version is None or exposure.tool not in snapshot.tools:
        return exposure.judged(_judge(snapshot, exposure.tool), False)
    outcome = snapshot.answer(Query(exposure.tool, version, sha256)).decision.outcome
    return judge_exposure(snapshot, exposure, outcome)
