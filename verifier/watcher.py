"""The release watcher: poll upstreams, record what is new, verify it, pin what was seen first.

One poll of a tool costs one conditional request when nothing changed. New releases (binaries:
GitHub releases; actions: tags) are recorded `pending` with toolgate's own first-sight time,
then verified outside any transaction (downloads, Sigstore, provenance) and recorded `verified`
or `rejected` with reason codes and evidence. Every fact change is committed with its incident
and a revision bump. A later difference from what was first seen (a replaced asset, a moved
tag) is recorded as a change of the release: the new thing is denied, the pinned one stays
allowed when asked for by digest or commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Generic, TypeVar

import httpx
import orjson
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from verifier.config import Config, ToolConfig
from verifier.errors import NotFoundError
from verifier.evidence_baseline import Baseline, load_baseline, save_baseline
from verifier.incidents import IncidentKind, Severity, record_incident, resolve_incident
from verifier.leases import Leaser
from verifier.policy import Reason
from verifier.release_verifier import MAX_ASSET_BYTES, ReleaseVerifier, Verdict, utc_iso
from verifier.sources.errors import SourceError
from verifier.sources.github import Cached, GitHub, Listing, UpstreamRelease, UpstreamTag
from verifier.sources.http import make_client
from verifier.sources.naming import github_repo, pypi_project, render, url_template
from verifier.sources.pypi import PyPI
from verifier.sources.url import UrlSource
from verifier.store.events import record_event
from verifier.store.models import (
    AssetPinRow,
    AssetRow,
    HttpCacheRow,
    ReleaseRow,
    TagPinRow,
)
from verifier.store.revision import bump_revision
from verifier.verify.pinning import (
    AssetSighting,
    EvidenceProfile,
    asset_changed,
    evidence_changes,
    evidence_gained,
)
from verifier.versioning import ApprovedVersions, canonical_version, parse_version

log = logging.getLogger(__name__)
T = TypeVar("T")

WATCHER = "watcher"


@dataclass
class ToolReport:
    """What one poll of one tool did."""

    tool: str
    new: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    unchanged: bool = False
    error: str | None = None
    elsewhere: bool = False  # skipped: another replica holds its poll (or it is not due yet)

    @property
    def problem(self) -> bool:
        return bool(self.rejected or self.incidents or self.error)


def watched(tool: ToolConfig) -> bool:
    """Actions: GitHub tags. Binaries: GitHub releases, PyPI projects, and templated URLs for
    their exact `versions` (a plain URL has no listing to discover others)."""
    if tool.kind == "action":
        return github_repo(tool) is not None
    if url_template(tool) is not None:
        return bool(ApprovedVersions(tool.versions).exact)
    return True


class Watcher:
    """Polls the inventory's GitHub tools and records releases, verdicts, pins and incidents."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        *,
        client: httpx.Client | None = None,
        github: GitHub | None = None,
        pypi: PyPI | None = None,
        workers: int = 16,
        max_asset_bytes: int = MAX_ASSET_BYTES,
        upload_grace: timedelta | None = None,
        leaser: Leaser | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.leaser = leaser or Leaser(engine, config.server.lease)
        self._own_client = client is None
        self.client = client or make_client(config)
        self.github = github or GitHub(self.client, config.github.api_url)
        self.pypi = pypi or PyPI(self.client, config.pypi.index_url)
        self.urls = UrlSource(self.client, max_bytes=max_asset_bytes)
        self.workers = workers
        # How long after first sight a release may still lack configured files (uploads follow
        # the release's creation) before it is judged without them.
        self.upload_grace = config.github.upload_grace if upload_grace is None else upload_grace
        self.verifier = ReleaseVerifier(
            config, engine, self.client, self.github, self.pypi, max_asset_bytes=max_asset_bytes
        )
        self._stopping = threading.Event()
        self._polling = threading.Lock()

    def close(self) -> None:
        """Close the HTTP client if this watcher made it."""
        if self._own_client:
            self.client.close()

    def stop(self) -> None:
        """Skip the tools not yet started; the client is closed once no poll runs."""
        self._stopping.set()
        if self._polling.acquire(blocking=False):
            try:
                self.close()
            finally:
                self._polling.release()

    def tools(self, names: Iterable[str] | None = None) -> list[ToolConfig]:
        """The configured tools to watch; raise NotFoundError for unknown names."""
        wanted = list(names or ())
        for name in wanted:
            if self.config.tool(name) is None:
                raise NotFoundError(f'tool "{name}" is not in the configuration')
        chosen = [t for t in self.config.tools if not wanted or t.name in wanted]
        for tool in chosen:
            if not watched(tool):
                log.info("%s: source %s is not watched", tool.name, tool.source)
        return [t for t in chosen if watched(t)]

    def poll(
        self,
        tools: list[ToolConfig] | None = None,
        on_done: Callable[[ToolReport], None] | None = None,
        *,
        due_only: bool = False,
    ) -> list[ToolReport]:
        """Poll `tools` (default: every watched tool) concurrently; reports in completion order.

        Each tool's poll is leased, so replicas sharing a store never poll one upstream at once:
        a tool another replica is polling is skipped (`elsewhere`). With `due_only` (the daemon)
        a tool is also skipped until `[github] poll_interval` after its last poll by any replica.
        """
        reports: list[ToolReport] = []
        chosen = tools or self.tools()
        with self._polling, ThreadPoolExecutor(self.workers, thread_name_prefix="watch") as pool:
            futures = [pool.submit(self._leased_poll, tool, due_only) for tool in chosen]
            for future in as_completed(futures):
                report = future.result()
                reports.append(report)
                if on_done is not None:
                    on_done(report)
            if self._stopping.is_set():
                self.close()
        return reports

    def _leased_poll(self, tool: ToolConfig, due_only: bool) -> ToolReport:
        if self._stopping.is_set():
            return ToolReport(tool.name, error="the watcher is stopping")
        interval = self.config.github.poll_interval
        try:
            with self.leaser.hold(f"watch:{tool.name}", interval, force=not due_only) as mine:
                return self.poll_tool(tool) if mine else ToolReport(tool.name, elsewhere=True)
        except SQLAlchemyError as exc:
            return ToolReport(tool.name, error=f"store error: {str(exc).splitlines()[0]}")

    def poll_tool(self, tool: ToolConfig) -> ToolReport:
        """Poll one tool; upstream and store failures end in `report.error`, never raise."""
        report = ToolReport(tool.name)
        if self._stopping.is_set():
            report.error = "the watcher is stopping"
            return report
        try:
            if tool.kind == "action":
                self._poll_tags(tool, report)
            else:
                self._poll_releases(tool, report)
        except SourceError as exc:
            report.error = str(exc)
            log.warning("%s: poll failed, nothing recorded: %s", tool.name, exc)
        except SQLAlchemyError as exc:
            report.error = f"store error: {str(exc).splitlines()[0]}"
            log.error("%s: %s", tool.name, report.error)
        except Exception as exc:  # one tool's bug must not stop the others being watched
            report.error = f"unexpected error: {exc!r}"
            log.exception("%s: poll failed unexpectedly", tool.name)
        return report

    # ---- binaries: GitHub releases --------------------------------------------------------

    def _poll_releases(self, tool: ToolConfig, report: ToolReport) -> None:
        repo, project, template = github_repo(tool), pypi_project(tool), url_template(tool)
        if project is not None:
            listing = self.pypi.releases(project, self._cached(self.pypi.releases_url(project)))
        elif template is not None:
            # The file the URL names is the asset (unless `assets` names it otherwise).
            tool = tool.model_copy(update={"assets": tool.assets or [template.rsplit("/", 1)[1]]})
            listing = self._url_releases(tool, template)
        else:
            assert repo is not None
            listing = self.github.releases(repo, self._cached(self.github.releases_url(repo)))
        record = partial(self._record_releases, tool, listing, report)
        for row_version, release in self._recorded_due(tool, listing, report, record, _tag):
            verdict = self.verifier.verify_release(tool, repo, release)
            self._record_verdict(tool, row_version, verdict, report)

    def _url_releases(self, tool: ToolConfig, template: str) -> Listing[UpstreamRelease]:
        versions = ApprovedVersions(tool.versions).exact
        sidecars = {}
        for version in versions:
            asset = render(template.rsplit("/", 1)[1], tag=version)
            names = [render(tool.checksums, tag=version)] if tool.checksums else []
            if tool.signature is not None:
                names.append(render(tool.signature.bundle, tag=version, asset=asset))
            sidecars[version] = names
        return self.urls.releases(template, versions, self._cached(template), sidecars)

    def _record_releases(
        self, tool: ToolConfig, listing: Listing[UpstreamRelease], report: ToolReport
    ) -> None:
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            rows = self._release_rows(session, tool.name)
            pins = {
                (canonical_version(p.version), p.name): p
                for p in session.scalars(select(AssetPinRow).where(AssetPinRow.tool == tool.name))
            }
            changed = False
            for release in reversed(listing.items):  # oldest first
                key = canonical_version(release.tag)
                row = rows.get(key)
                if row is None:
                    row = ReleaseRow(
                        tool=tool.name, version=release.tag, status="pending", first_seen_at=now
                    )
                    session.add(row)
                    rows[key] = row
                    report.new.append(release.tag)
                    changed = True
                replaced: list[Reason] = []  # one upstream event: one incident per release
                for asset in release.assets:
                    seen = AssetSighting(asset.id, asset.size, asset.digest)
                    pin = pins.get((key, asset.name))
                    if pin is None:
                        session.add(
                            AssetPinRow(
                                tool=tool.name,
                                version=row.version,
                                name=asset.name,
                                upstream_id=asset.id,
                                size=asset.size,
                                digest=asset.digest,
                                first_seen_at=now,
                            )
                        )
                        continue
                    pinned = AssetSighting(pin.upstream_id, pin.size, pin.digest)
                    if asset_changed(pinned, seen):
                        replaced.append(_replaced(asset.name, release.tag, pinned, seen))
                if replaced:
                    changed |= self._record_change(
                        session, tool, row, replaced, IncidentKind.DIGEST_CHANGED, report
                    )
            self._store_cache(session, listing)
            if changed:
                bump_revision(session)
            session.commit()

    # ---- actions: tags --------------------------------------------------------------------

    def _poll_tags(self, tool: ToolConfig, report: ToolReport) -> None:
        repo = github_repo(tool)
        assert repo is not None
        listing = self.github.tags(repo, self._cached(self.github.tags_url(repo)))
        record = partial(self._record_tags, tool, repo, listing, report)
        for row_version, tag in self._recorded_due(tool, listing, report, record, _name):
            verdict = Verdict(commit=tag.commit)
            verdict.evidence.update(tag=tag.name, commit=tag.commit, tag_type=tag.object_type)
            self.verifier.check_commit(tool, repo, tag.commit, f"commit of tag {tag.name}", verdict)
            self._record_verdict(tool, row_version, verdict, report)

    def _record_tags(
        self, tool: ToolConfig, repo: str, listing: Listing[UpstreamTag], report: ToolReport
    ) -> None:
        # Check moved tags' new commits first: no write transaction may stay open over requests.
        with Session(self.engine) as session:
            first = {
                canonical_version(p.tag): p.commit
                for p in session.scalars(select(TagPinRow).where(TagPinRow.tool == tool.name))
            }
        checks: dict[str, Verdict] = {}
        for tag in listing.items:
            pinned = first.get(canonical_version(tag.name))
            if pinned is not None and pinned != tag.commit:
                check = checks[tag.commit] = Verdict()
                self.verifier.check_commit(
                    tool, repo, tag.commit, f"new commit of tag {tag.name}", check
                )
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            pins = {
                canonical_version(p.tag): p
                for p in session.scalars(select(TagPinRow).where(TagPinRow.tool == tool.name))
            }
            rows = self._release_rows(session, tool.name)
            changed = False
            for tag in listing.items:
                key = canonical_version(tag.name)
                pin = pins.get(key)
                if pin is None:
                    session.add(
                        TagPinRow(
                            tool=tool.name,
                            tag=tag.name,
                            commit=tag.commit,
                            current_commit=tag.commit,
                            first_seen_at=now,
                        )
                    )
                    if key not in rows:
                        session.add(
                            ReleaseRow(
                                tool=tool.name,
                                version=tag.name,
                                status="pending",
                                first_seen_at=now,
                                commit=tag.commit,
                            )
                        )
                        report.new.append(tag.name)
                    changed = True
                    continue
                if tag.commit != pin.current_commit:
                    pin.current_commit, pin.moved_at = tag.commit, now
                    changed = True
                if tag.commit != pin.commit and key in rows:
                    moved = Reason(
                        "tag-moved",
                        f"tag {tag.name} at {pin.commit} (first seen {utc_iso(pin.first_seen_at)})",
                        f"tag {tag.name} at {tag.commit}",
                        "the tag was moved after toolgate first saw it; the first-seen commit "
                        "stays allowed when asked for by full SHA, the tag name is denied",
                    )
                    reasons = (
                        [moved, *checks[tag.commit].reasons] if tag.commit in checks else [moved]
                    )
                    changed |= self._record_change(
                        session,
                        tool,
                        rows[key],
                        reasons,
                        IncidentKind.TAG_MOVED,
                        report,
                    )
            self._store_cache(session, listing)
            if changed:
                bump_revision(session)
            session.commit()

    # ---- shared steps ---------------------------------------------------------------------

    def _recorded_due(
        self,
        tool: ToolConfig,
        listing: Listing[T],
        report: ToolReport,
        record: Callable[[], None],
        version_of: Callable[[T], str],
    ) -> list[tuple[str, T]]:
        """Record the listing when it changed, or when it is unchanged (cached) but this tool has
        not recorded all of it (a tool just added on a repository another tool watches); then
        the items due for verification."""
        due = None if listing.changed else self._due(tool, listing.items, version_of)
        report.unchanged = due is not None and not due.unrecorded
        if not report.unchanged:
            record()
            due = self._due(tool, listing.items, version_of)
        assert due is not None
        return due.items

    def _due(self, tool: ToolConfig, items: Iterable[T], version_of: Callable[[T], str]) -> _Due[T]:
        """Upstream items whose release is pending, or rejected for a transient cause, and whose
        version is approved (unapproved versions are recorded but not downloaded)."""
        approved = ApprovedVersions(tool.versions)
        with Session(self.engine) as session:
            rows = self._release_rows(session, tool.name)
        due: list[tuple[str, T]] = []
        unrecorded = False
        for item in items:
            row = rows.get(canonical_version(version_of(item)))
            unrecorded = unrecorded or row is None
            if row is None or version_of(item) not in approved:
                continue
            retry = row.status == "rejected" and orjson.loads(row.evidence_json).get("retry")
            if row.status == "pending" or retry:
                due.append((row.version, item))
        due.sort(key=lambda pair: _order(pair[0]))
        return _Due(due, unrecorded)

    def _record_verdict(
        self, tool: ToolConfig, version: str, verdict: Verdict, report: ToolReport
    ) -> None:
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            row = self._release_rows(session, tool.name)[canonical_version(version)]
            evidence = {**verdict.evidence, "retry": verdict.retry}
            if changes := orjson.loads(row.evidence_json).get("changes"):
                evidence["changes"] = changes
            if verdict.missing and now - row.first_seen_at < self.upload_grace:
                # Publishers create a release, then upload its files: judge it once they are
                # there (or the grace period is over); until then it stays pending (denied).
                evidence["waiting_for"] = verdict.missing
                row.evidence_json = orjson.dumps(evidence).decode()
                session.commit()
                log.info("%s %s: waiting for %s", tool.name, version, ", ".join(verdict.missing))
                return
            reasons = list(verdict.reasons)
            if not reasons and verdict.profile is not None:
                reasons += self._evidence_regression(
                    session, tool, version, verdict.profile, evidence
                )
            row.commit = verdict.commit or row.commit
            row.evidence_json = orjson.dumps(evidence).decode()
            row.reasons_json = orjson.dumps([r.to_dict() for r in reasons]).decode()
            row.status = "rejected" if reasons else "verified"
            row.verified_at = now if not reasons else None
            if row.id is not None and not verdict.reasons:  # only a complete verification pins
                for name, sha256, size in verdict.assets:
                    session.add(AssetRow(release_id=row.id, name=name, sha256=sha256, size=size))
            if reasons:
                report.rejected.append(version)
                if not verdict.retry:
                    self._record_rejection(session, tool, version, reasons, report)
                log.warning("%s %s rejected: %s", tool.name, version, [r.code for r in reasons])
            else:
                report.verified.append(version)
            bump_revision(session)
            session.commit()

    @staticmethod
    def _record_rejection(
        session: Session, tool: ToolConfig, version: str, reasons: list[Reason], report: ToolReport
    ) -> None:
        """One incident for a rejected release, whatever its reasons (evidence changed, failed
        checks, several assets): later reasons update it."""
        codes = sorted({r.code for r in reasons})
        if codes == ["evidence-changed"]:
            kind, summary = IncidentKind.EVIDENCE_CHANGED, f"evidence changed: {reasons[0].found}"
        else:
            kind, summary = (
                IncidentKind.VERIFICATION_FAILED,
                f"failed verification: {', '.join(codes)}",
            )
        record_incident(
            session,
            kind=kind,
            tool=tool.name,
            version=version,
            severity=Severity.HIGH,
            summary=f"{tool.name} {version} {summary}",
            detail={"reasons": [r.to_dict() for r in reasons]},
            dedupe_key=f"verification-failed:{tool.name}:{canonical_version(version)}",
        )
        report.incidents.append(f"{kind.value} {version}")

    def _evidence_regression(
        self,
        session: Session,
        tool: ToolConfig,
        version: str,
        profile: EvidenceProfile,
        evidence: dict[str, Any],
    ) -> list[Reason]:
        """Hold a release whose evidence is weaker or other than the tool's baseline (kept in
        `evidence["baseline"]`, as compared with); a release with stronger evidence ratchets
        the baseline up."""
        baseline = load_baseline(session, tool.name)
        if baseline is None:
            first = "first verified release of the tool (trust on first use)"
            save_baseline(session, tool.name, Baseline.first(version, profile, WATCHER, first))
            return []
        evidence["baseline"] = baseline.to_dict()
        changes = evidence_changes(baseline.profile, profile)
        if changes:
            return [
                Reason(
                    "evidence-changed",
                    "; ".join(
                        f"{c.name}={c.expected} (as {baseline.source(c.name)})" for c in changes
                    ),
                    "; ".join(f"{c.name}={c.found}" for c in changes),
                    "the release's evidence is weaker than or different from what the tool's "
                    "accepted releases came with; if the change is legitimate: toolgate "
                    f"accept-evidence {tool.name} {version} --reason …",
                )
            ]
        if gained := evidence_gained(baseline.profile, profile):
            why = f"strengthened by {version}: {', '.join(f'{k}={v}' for k, v in gained.items())}"
            save_baseline(session, tool.name, baseline.adopting(gained, version, WATCHER, why))
            record_event(
                session, WATCHER, "evidence-strengthened", f"{tool.name} {version}", gained=gained
            )
            log.info("%s: evidence baseline %s", tool.name, why)
        return []

    def _record_change(
        self,
        session: Session,
        tool: ToolConfig,
        row: ReleaseRow,
        reasons: list[Reason],
        kind: IncidentKind,
        report: ToolReport,
    ) -> bool:
        """Add upstream changes to the release (kept across verdicts) and record them as one
        incident per release and kind, however many assets or commits they touch: a later
        change updates that incident. False if they were recorded already."""
        evidence = orjson.loads(row.evidence_json)
        changes = evidence.setdefault("changes", [])
        entries = [reason.to_dict() for reason in reasons if reason.to_dict() not in changes]
        if not entries:
            return False
        changes.extend(entries)
        row.evidence_json = orjson.dumps(evidence).decode()
        same_kind = [change for change in changes if change["code"] == kind.value]
        first = same_kind[0]
        more = f" (and {len(same_kind) - 1} more)" if len(same_kind) > 1 else ""
        record_incident(
            session,
            kind=kind,
            tool=tool.name,
            version=row.version,
            severity=Severity.CRITICAL,
            summary=f"{tool.name} {row.version}: {kind.value}: {first.get('found')}{more}",
            detail={"changes": same_kind},
            dedupe_key=f"{kind.value}:{tool.name}:{canonical_version(row.version)}",
        )
        report.incidents.append(f"{kind.value} {row.version}")
        log.error("%s %s: %s (%s)", tool.name, row.version, kind.value, entries[0].get("found"))
        return True

    def _cached(self, url: str) -> Cached | None:
        with Session(self.engine) as session:
            row = session.get(HttpCacheRow, url)
            return None if row is None else Cached(row.etag, row.body_json)

    @staticmethod
    def _store_cache(session: Session, listing: Listing[Any]) -> None:
        if listing.etag is None or not listing.changed:  # an unchanged listing is cached already
            return
        row = session.get(HttpCacheRow, listing.url) or HttpCacheRow(
            url=listing.url, etag=listing.etag, body_json=listing.body_json
        )
        row.etag, row.body_json, row.fetched_at = listing.etag, listing.body_json, datetime.now(UTC)
        session.add(row)

    @staticmethod
    def _release_rows(session: Session, tool: str) -> dict[str, ReleaseRow]:
        rows = session.scalars(select(ReleaseRow).where(ReleaseRow.tool == tool))
        return {canonical_version(row.version): row for row in rows}


def accept_evidence(engine: Engine, tool: str, version: str, actor: str, reason: str) -> str:
    """Accept a held release's changed evidence as the tool's new baseline (once, for this
    release); returns the release's new status."""
    if not reason.strip():
        raise ValueError("a reason is required: say why the new evidence is legitimate")
    with Session(engine) as session:
        rows = Watcher._release_rows(session, tool)
        row = rows.get(canonical_version(version))
        if row is None:
            raise NotFoundError(
                f"no release {version} of {tool} is recorded (see `toolgate tools`)"
            )
        reasons = [Reason(**r) for r in orjson.loads(row.reasons_json)]
        if not any(r.code == "evidence-changed" for r in reasons):
            codes = ", ".join(r.code for r in reasons) or "none"
            raise NotFoundError(
                f"{tool} {row.version} is not held for evidence-changed (status {row.status}, "
                f"reasons: {codes}): nothing to accept"
            )
        raw = orjson.loads(row.evidence_json).get("profile", {})
        profile = EvidenceProfile.from_dict(raw)
        baseline = load_baseline(session, tool) or Baseline.first(
            row.version, profile, actor, reason.strip()
        )
        differing = {
            name: value
            for name, value in profile.to_dict().items()
            if getattr(baseline.profile, name) != value
        }
        save_baseline(
            session, tool, baseline.adopting(differing, row.version, actor, reason.strip())
        )
        remaining = [r for r in reasons if r.code != "evidence-changed"]
        row.reasons_json = orjson.dumps([r.to_dict() for r in remaining]).decode()
        if not remaining:
            row.status, row.verified_at = "verified", datetime.now(UTC)
            # The cause is accepted: later fetches are not exposure, and no alert is due.
            resolve_incident(session, f"verification-failed:{tool}:{canonical_version(version)}")
        record_event(
            session,
            actor,
            "accept-evidence",
            f"{tool} {row.version}",
            reason=reason.strip(),
            profile=raw,
        )
        bump_revision(session)
        session.commit()
        return row.status


@dataclass(frozen=True, slots=True)
class _Due(Generic[T]):
    """What `_due` found: the items to verify, and whether an item has no release recorded."""

    items: list[tuple[str, T]]
    unrecorded: bool


def _tag(release: UpstreamRelease) -> str:
    return release.tag


def _name(tag: UpstreamTag) -> str:
    return tag.name


def _replaced(name: str, tag: str, pinned: AssetSighting, seen: AssetSighting) -> Reason:
    """The `digest-changed` reason of an asset replaced upstream after first sight."""
    differences = ", ".join(asset_changed(pinned, seen))
    return Reason(
        "digest-changed",
        f"{name} as first seen: {pinned.describe()}",
        seen.describe(),
        f"{name} of {tag} was replaced upstream after toolgate first saw it ({differences} "
        "changed); the first-seen file stays allowed when asked for by sha256, the new one is "
        "denied",
    )


def _order(version: str) -> tuple[int, Any]:
    parsed = parse_version(version)
    return (1, parsed) if parsed is not None else (0, version)
