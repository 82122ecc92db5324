"""Advisory feeds inside the daemon: sync `[[feed]]` tables, turn matches into incidents.

The `advisories` library fetches and stores; this module supplies the inventory (which packages
and keywords to look for), records an incident for every inventory version an advisory affects
(alerts follow), resolves incidents of withdrawn advisories, and tells replicas to reload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from advisories import AdvisoryError, FeedState, feed_hits, load_index
from advisories import feed_states as stored_feed_states
from verifier import __version__
from verifier.advisory_policy import AdvisoryWeigher, feed_hit
from verifier.config import Config, FeedConfig, read_secret
from verifier.errors import ConfigError
from verifier.incidents import (
    IncidentKind,
    Severity,
    list_incidents,
    record_incident,
    resolve_incident,
)
from verifier.inventory import load_tool_facts
from verifier.leases import Leaser
from verifier.policy import AdvisoryHit, ToolFacts
from verifier.store.revision import bump_revision
from verifier.versioning import canonical_version

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # the sync machinery (httpx) is imported by the functions that sync
    import httpx

    from advisories import FeedSpec, SyncReport

_SEVERITIES = {"CRITICAL": Severity.CRITICAL, "HIGH": Severity.HIGH, "LOW": Severity.LOW}
_INCIDENT_KINDS = (IncidentKind.ADVISORY, IncidentKind.FEED_HIT)
# How an incident names what a hit does to the version (advisory-unevaluated: not known).
_VERB = {False: "affects", True: "could not be evaluated for"}


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """One feed's sync: its report, or the error that stopped it."""

    feed: str
    report: SyncReport | None = None
    error: str | None = None

    @property
    def changed(self) -> bool:
        report = self.report
        return report is not None and bool(
            report.new or report.updated or report.new_hits or report.kev_entries
        )


def advisory_packages(config: Config) -> list[tuple[str, str]]:
    """Every (ecosystem, package) the inventory's tools are known under."""
    return sorted({pair for tool in config.tools for pair in tool.advisory_packages})


def feed_spec(feed: FeedConfig, config: Config) -> FeedSpec:
    """The library's description of a configured feed, with the inventory's packages/keywords."""
    from advisories import FeedSpec

    path = str(config.source_path.resolve().parent / feed.path) if feed.path else None
    return FeedSpec(
        name=feed.name,
        type=feed.type,
        url=feed.url,
        path=path,
        ecosystem=feed.ecosystem,
        packages=tuple(advisory_packages(config)),
        tools={tool.name: tuple(tool.keywords or [tool.name]) for tool in config.tools},
    )


def load_weigher(engine: Engine, config: Config) -> AdvisoryWeigher:
    """Index the stored advisories of the inventory's packages, and the stored feed hits."""
    index = load_index(engine, packages=advisory_packages(config))
    hits = [hit for hit, _seen in feed_hits(engine)]
    policy = config.advisories
    return AdvisoryWeigher(index, policy.deny_severity, hits, unevaluated=policy.unevaluated)


def sync_feeds(
    engine: Engine,
    config: Config,
    client: httpx.Client,
    *,
    names: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
    leaser: Leaser | None = None,
    due_only: bool = False,
) -> list[FeedOutcome]:
    """Sync the configured feeds (or those named); if anything changed, bump the advisories
    revision. Incidents follow from the next snapshot (the daemon) or `refresh_incidents`.

    With a `leaser` each feed is synced under its lease, so replicas sharing a store never sync
    one feed at once: a feed a replica is syncing fails with a message saying so, or, with
    `due_only` (the daemon), is left out, as is one synced within its `interval` by anyone."""
    wanted = set(names) if names is not None else None
    outcomes = []
    for feed in config.feeds:
        if wanted is not None and feed.name not in wanted:
            continue
        if leaser is None:
            outcomes.append(_sync_one(engine, config, feed, client, progress))
            continue
        with leaser.hold(f"feed:{feed.name}", feed.interval, force=not due_only) as mine:
            if mine:
                outcomes.append(_sync_one(engine, config, feed, client, progress))
            elif not due_only:
                busy = "another replica is syncing it right now: try again in a moment"
                outcomes.append(FeedOutcome(feed.name, error=busy))
    if any(outcome.changed for outcome in outcomes):
        advisories_changed(engine)
    return outcomes


def _sync_one(
    engine: Engine,
    config: Config,
    feed: FeedConfig,
    client: httpx.Client,
    progress: Callable[[str], None] | None,
) -> FeedOutcome:
    """One feed's sync; whatever fails is this feed's failure (the store's excepted: that stops
    every feed), so the feeds after it are synced all the same."""
    from advisories import sync_feed

    if progress:
        progress(feed.name)
    try:
        token = read_secret(feed.token_file, config) if feed.token_file else None
        report = sync_feed(engine, feed_spec(feed, config), client, token=token)
    except SQLAlchemyError:
        raise
    except (AdvisoryError, ConfigError) as exc:
        return FeedOutcome(feed.name, error=str(exc))
    except Exception as exc:  # a bug: named, logged with its traceback, never the loop's end
        log.exception("advisory feed %s: unexpected error", feed.name)
        return FeedOutcome(feed.name, error=f"unexpected {type(exc).__name__}: {exc}")
    return FeedOutcome(feed.name, report=report)


def advisories_changed(engine: Engine) -> None:
    """Tell every replica that advisory data changed: they reload the index and rebuild."""
    with Session(engine) as session:
        bump_revision(session, advisories=True)
        session.commit()


def due_feeds(engine: Engine, config: Config, now: datetime) -> list[str]:
    """Feeds whose last attempt is older than their interval (or that never ran)."""
    states = {state.feed: state for state in stored_feed_states(engine)}
    due = []
    for feed in config.feeds:
        state = states.get(feed.name)
        last = state.last_attempt_at if state else None
        if last is None or last + feed.interval <= now:
            due.append(feed.name)
    return due


def stale_feeds(states: Iterable[FeedState], config: Config, now: datetime) -> list[str]:
    """Feeds without a successful sync within their `max_age` (never synced counts as stale)."""
    by_name = {state.feed: state for state in states}
    stale = []
    for feed in config.feeds:
        state = by_name.get(feed.name)
        last = state.last_success_at if state else None
        if last is None or now - last > feed.max_age:
            stale.append(feed.name)
    return stale


def failing_feeds(states: Iterable[FeedState], config: Config) -> dict[str, str]:
    """Configured feeds whose last sync attempt failed, with its error."""
    configured = {feed.name for feed in config.feeds}
    return {s.feed: s.last_error for s in states if s.feed in configured and s.last_error}


def _candidate_versions(tool: ToolFacts) -> set[str]:
    """Versions pipelines may fetch: seen upstream, approved by hand, or listed in `versions`."""
    versions = {release.version for release in tool.releases.values()}
    versions.update(a.version for a in tool.approvals if a.version)
    versions.update(tool.approved.exact)
    return versions


def _record(session: Session, tool: str, version: str | None, hit: AdvisoryHit) -> str:
    """Record the incident of one hit; returns its dedupe key."""
    key = f"advisory:{hit.advisory_id}:{tool}:{canonical_version(version or '*')}"
    fallback = Severity.HIGH if hit.action == "deny" else Severity.MEDIUM
    target = f"{tool} {version}" if version else tool
    record_incident(
        session,
        kind=IncidentKind.FEED_HIT
        if hit.advisory_id.startswith("feed:")
        else IncidentKind.ADVISORY,
        tool=tool,
        version=version,
        severity=_SEVERITIES.get((hit.severity or "").upper(), fallback),
        summary=f"{hit.advisory_id} {_VERB[hit.unevaluated]} {target}: {hit.summary}"[:500],
        detail={"aliases": list(hit.aliases), "action": hit.action, "why": hit.detail},
        dedupe_key=key,
    )
    return key


def refresh_incidents(
    engine: Engine,
    config: Config,
    weigher: AdvisoryWeigher | None = None,
    tools: Mapping[str, ToolFacts] | None = None,
) -> int:
    """Open an incident for every inventory version an advisory or feed entry affects and
    resolve those that no longer apply (withdrawn, waived). Idempotent: incidents are keyed by
    advisory, tool and version. `weigher` and `tools` default to fresh reads of the store (the
    daemon passes those of the snapshot it just built). Returns the number of incidents open."""
    now = datetime.now(UTC)
    weigher = weigher or load_weigher(engine, config)
    with Session(engine) as session:
        facts = tools if tools is not None else load_tool_facts(session, config)
        current: set[str] = set()
        for tool in facts.values():
            for version in sorted(_candidate_versions(tool)):
                for hit in weigher.hits(tool, version, now):
                    if hit.waiver is None:
                        current.add(_record(session, tool.name, version, hit))
        for entry in weigher.unversioned_feed_hits:
            current.add(_record(session, entry.tool, None, feed_hit(entry)))
        for incident in list_incidents(session):
            if incident.kind in _INCIDENT_KINDS and incident.dedupe_key not in current:
                resolve_incident(session, incident.dedupe_key)
        session.commit()
    return len(current)


def advisory_client(config: Config) -> httpx.Client:
    """The HTTP client feeds are fetched with: read-only, bounded, identified."""
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(30.0, connect=10.0),
        follow_redirects=True,
        headers={"User-Agent": f"toolgate/{__version__} (advisory sync)"},
    )


def record_feed_incidents(
    engine: Engine, config: Config, stale: Iterable[str], failing: Mapping[str, str]
) -> None:
    """An incident per stale feed and per failing feed (deduplicated per feed and day, so each
    alerts once a day, and again if a failing feed's error changes)."""
    today = datetime.now(UTC).date().isoformat()
    by_name = {feed.name: feed for feed in config.feeds}
    with Session(engine) as session:
        for name in stale:
            _feed_incident(
                session,
                IncidentKind.FEED_STALE,
                f"advisory feed {name} has not synced within {by_name[name].max_age}",
                {"feed": name, "max_age_seconds": by_name[name].max_age.total_seconds()},
                today,
            )
        for name, error in failing.items():
            summary = f"advisory feed {name} failed to sync: {error}"[:500]
            _feed_incident(
                session, IncidentKind.FEED_FAILING, summary, {"feed": name, "error": error}, today
            )
        session.commit()


def _feed_incident(
    session: Session, kind: IncidentKind, summary: str, detail: dict[str, object], day: str
) -> None:
    record_incident(
        session,
        kind=kind,
        tool="*",
        version=None,
        severity=Severity.MEDIUM,
        summary=summary,
        detail=detail,
        dedupe_key=f"{kind}:{detail['feed']}:{day}",
    )
