"""An immutable, in-memory compilation of the store that answers decisions without I/O.

The service swaps the whole snapshot atomically when the store revision changes; when only time
moves (a cooldown ends, a block expires) it derives a fresh one from the same facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import orjson
from sqlalchemy import Engine
from sqlmodel import Session

from advisories.gcpause import paused_gc
from verifier.advisory_policy import AdvisoryWeigher
from verifier.config import Config
from verifier.inventory import load_tool_facts
from verifier.policy import (
    AdvisoryHit,
    Decision,
    Query,
    ToolFacts,
    decide,
    newest_allowed,
    time_boundaries,
)
from verifier.store.revision import read_revision
from verifier.tokens import TokenInfo, load_tokens

MEMO_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Answer:
    """A decision and its JSON body, minus the per-request `checked_at`."""

    decision: Decision
    newest_allowed: str | None
    body_prefix: bytes  # a JSON object without its closing brace
    reason_codes: tuple[str, ...]
    reasons_json: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """A known version's decision and the advisories weighed in it."""

    version: str
    decision: Decision
    hits: tuple[AdvisoryHit, ...]


@dataclass(frozen=True)
class Snapshot:
    revision: int
    built_at: datetime
    now: datetime  # the moment time-dependent answers were computed for
    unknown: Literal["deny", "warn"]
    tools: Mapping[str, ToolFacts]
    tokens: Mapping[str, TokenInfo]
    newest: Mapping[str, str | None]
    valid_until: datetime | None
    weigher: AdvisoryWeigher | None = None
    _memo: dict[Query, Answer] = field(default_factory=dict, repr=False, compare=False)
    _verdicts: dict[str, tuple[Verdict, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def verdicts(self, name: str) -> tuple[Verdict, ...]:
        """Each known version of tool `name` (string order) with its decision and advisories,
        computed once per snapshot: the dashboard's counts, advisories and tool pages, and the
        reports, all read this one table."""
        if (cached := self._verdicts.get(name)) is not None:
            return cached
        from verifier.inventory_view import known_versions  # it builds on this module

        tool = self.tools[name]
        verdicts = []
        for version in known_versions(self, name):
            hits = self._advisories(tool, version)
            decision = decide(Query(name, version), tool, self.unknown, self.now, hits)
            verdicts.append(Verdict(version, decision, hits))
        self._verdicts[name] = result = tuple(verdicts)
        return result

    def answer(self, query: Query) -> Answer:
        """The answer to `query`, memoised for the life of this snapshot."""
        if (cached := self._memo.get(query)) is not None:
            return cached
        tool = self.tools.get(query.tool)
        decision = decide(
            query, tool, self.unknown, self.now, self._advisories(tool, query.version)
        )
        newest = self.newest.get(query.tool)
        reasons = [reason.to_dict() for reason in decision.reasons]
        body = orjson.dumps(
            {
                "decision": decision.outcome,
                "tool": decision.tool,
                "version": decision.version,
                "reasons": reasons,
                "sha256": decision.sha256,
                "newest_allowed": newest,
                "policy_revision": self.revision,
            }
        )
        answer = Answer(
            decision,
            newest,
            body[:-1],
            tuple(reason.code for reason in decision.reasons),
            orjson.dumps(reasons).decode(),
        )
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[query] = answer
        return answer

    def _advisories(self, tool: ToolFacts | None, version: str) -> tuple[AdvisoryHit, ...]:
        if tool is None or self.weigher is None:
            return ()
        # An action asked for by full commit SHA is weighed as the tag it was released under
        # (a SHA is no version an advisory range can name).
        key = tool.by_commit.get(version.lower())
        release = tool.releases.get(key) if key is not None else None
        return self.weigher.hits(tool, release.version if release else version, self.now)

    def expired(self, now: datetime) -> bool:
        return self.valid_until is not None and now >= self.valid_until

    def advance(self, now: datetime) -> Snapshot:
        """The same facts, with time-dependent answers recomputed for `now`."""
        return compile_snapshot(
            self.revision, self.built_at, now, self.unknown, self.tools, self.tokens, self.weigher
        )


def compile_snapshot(
    revision: int,
    built_at: datetime,
    now: datetime,
    unknown: Literal["deny", "warn"],
    tools: Mapping[str, ToolFacts],
    tokens: Mapping[str, TokenInfo],
    weigher: AdvisoryWeigher | None = None,
) -> Snapshot:
    """Derive the time-dependent parts (newest allowed versions, validity) for `now`."""

    def hits(tool: ToolFacts) -> Callable[[str], tuple[AdvisoryHit, ...]]:
        if weigher is None:
            return lambda _version: ()
        return lambda version: weigher.hits(tool, version, now)

    newest = {name: newest_allowed(tool, now, hits(tool)) for name, tool in tools.items()}
    valid_until = min(
        (moment for tool in tools.values() for moment in time_boundaries(tool, now)), default=None
    )
    return Snapshot(revision, built_at, now, unknown, tools, tokens, newest, valid_until, weigher)


def build_snapshot(
    engine: Engine, config: Config, weigher: AdvisoryWeigher | None = None
) -> Snapshot:
    """Read every fact from the store in one transaction and compile it (the cyclic collector
    paused: the facts are tens of thousands of small objects, none in a cycle)."""
    with paused_gc():
        with Session(engine) as session:
            revision = read_revision(session)
            tools = load_tool_facts(session, config)
            tokens = load_tokens(session)
        now = datetime.now(UTC)
        return compile_snapshot(revision, now, now, config.policy.unknown, tools, tokens, weigher)
