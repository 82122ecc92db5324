"""The tool page: each known version's decision, evidence and pins, and the tool's history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import Engine, or_, select
from sqlmodel import Session

from verifier.config import Config
from verifier.durations import format_duration
from verifier.policy import Decision, Override, Reason
from verifier.reports.model import (
    AssetEvidence,
    AttestationRecord,
    SignatureEvidence,
    attestation_evidence,
    signature_evidence,
)
from verifier.snapshot import Snapshot
from verifier.store.models import (
    AssetPinRow,
    EventRow,
    IncidentRow,
    ReleaseRow,
    TagPinRow,
)
from verifier.versioning import canonical_version

TIMELINE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Evidence:
    """How a release was verified, as the watcher recorded it (in the reports' terms)."""

    signatures: tuple[SignatureEvidence, ...] = ()
    attestations: tuple[AttestationRecord, ...] = ()
    assets: tuple[AssetEvidence, ...] = ()
    source_commit: str | None = None
    source_branch: str | None = None
    changes: tuple[Reason, ...] = ()

    @property
    def empty(self) -> bool:
        parts = (self.signatures, self.attestations, self.assets, self.changes)
        return not (any(parts) or self.source_commit)


def evidence_view(evidence_json: str, pins: dict[str, AssetPinRow]) -> Evidence:
    """A release's stored evidence; `pins`: its files as first seen, by name."""
    raw = orjson.loads(evidence_json or "{}")
    signatures = signature_evidence(raw)
    assets = tuple(
        AssetEvidence(
            name=name,
            sha256=asset.get("sha256") or "",
            size=asset.get("size"),
            checksum_source=asset.get("checksum_source"),
            published_digest=pins[name].digest if name in pins else None,
            first_seen_at=pins[name].first_seen_at if name in pins else None,
        )
        for name, asset in sorted((raw.get("assets") or {}).items())
    )
    changes = tuple(Reason(**change) for change in raw.get("changes") or ())
    return Evidence(
        signatures,
        attestation_evidence(raw),
        assets,
        raw.get("source_commit"),
        raw.get("source_branch"),
        changes,
    )


@dataclass(frozen=True, slots=True)
class VersionView:
    """One known version of a tool: what runners are told now, and what toolgate saw."""

    version: str
    decision: Decision
    status: str | None  # pending | verified | rejected; None: known only from an approval
    first_seen_at: datetime | None
    verified_at: datetime | None
    commit: str | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str
    incident_id: int | None = None


@dataclass
class ToolPage:
    name: str
    source: str | None
    kind: str | None
    mode: str
    approved: tuple[str, ...]
    cooldown: str
    newest_allowed: str | None
    versions: list[VersionView]
    overrides: list[Override]
    asset_pins: list[AssetPinRow]
    tag_pins: list[TagPinRow]
    incidents: list[IncidentRow]
    timeline: list[TimelineEntry] = field(default_factory=list)


def tool_page(engine: Engine, config: Config, snapshot: Snapshot, name: str) -> ToolPage:
    """A tool with each known version's decision, evidence, pins and history (5 queries)."""
    facts = snapshot.tools[name]
    tool_config = next((tool for tool in config.tools if tool.name == name), None)
    with Session(engine) as session:
        releases = {
            canonical_version(row.version): row
            for row in session.scalars(select(ReleaseRow).where(ReleaseRow.tool == name))
        }
        asset_pins = list(
            session.scalars(
                select(AssetPinRow)
                .where(AssetPinRow.tool == name)
                .order_by(AssetPinRow.version, AssetPinRow.name)
            )
        )
        tag_pins = list(
            session.scalars(select(TagPinRow).where(TagPinRow.tool == name).order_by(TagPinRow.tag))
        )
        incidents = list(
            session.scalars(
                select(IncidentRow)
                .where(IncidentRow.tool == name)
                .order_by(IncidentRow.updated_at.desc(), IncidentRow.id.desc())
            )
        )
        events = list(
            session.scalars(
                select(EventRow)
                .where(or_(EventRow.target == name, EventRow.target.startswith(f"{name} ")))
                .order_by(EventRow.at.desc())
                .limit(TIMELINE_LIMIT)
            )
        )
        session.expunge_all()
    pins_of: dict[str, dict[str, AssetPinRow]] = {}
    for pin in asset_pins:
        pins_of.setdefault(canonical_version(pin.version), {})[pin.name] = pin
    versions = []
    for verdict in reversed(snapshot.verdicts(name)):
        version = verdict.version
        key = canonical_version(version)
        release = releases.get(key)
        versions.append(
            VersionView(
                version,
                verdict.decision,
                release.status if release else None,
                release.first_seen_at if release else None,
                release.verified_at if release else None,
                release.commit if release else None,
                evidence_view(release.evidence_json, pins_of.get(key, {}))
                if release
                else Evidence(),
            )
        )
    overrides = [o for o in (*facts.blocks, *facts.approvals) if o.active(snapshot.now)]
    page = ToolPage(
        name=name,
        source=tool_config.source if tool_config else None,
        kind=tool_config.kind if tool_config else None,
        mode=facts.mode,
        approved=tuple(facts.approved.entries),
        cooldown=format_duration(facts.cooldown),
        newest_allowed=snapshot.newest.get(name),
        versions=versions,
        overrides=overrides,
        asset_pins=asset_pins,
        tag_pins=tag_pins,
        incidents=incidents,
    )
    page.timeline = _timeline(releases.values(), incidents, events)
    return page


def _timeline(
    releases: Iterable[ReleaseRow], incidents: list[IncidentRow], events: list[EventRow]
) -> list[TimelineEntry]:
    """Releases seen and verified, incidents opened and resolved, operators' actions: newest
    first."""
    entries = []
    for release in releases:
        version = release.version
        entries.append(TimelineEntry(release.first_seen_at, "seen", f"{version} first seen"))
        if release.verified_at is not None:
            status = release.status
            entries.append(TimelineEntry(release.verified_at, status, f"{version} {status}"))
    for incident in incidents:
        entries.append(TimelineEntry(incident.opened_at, "incident", incident.summary, incident.id))
        if incident.resolved_at is not None:
            text = f"resolved: {incident.summary}"
            entries.append(TimelineEntry(incident.resolved_at, "resolved", text, incident.id))
    for event in events:
        detail = orjson.loads(event.detail_json)
        why = f": {detail['reason']}" if detail.get("reason") else ""
        text = f"{event.action} {event.target} by {event.actor}{why}"
        entries.append(TimelineEntry(event.at, event.action, text))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:TIMELINE_LIMIT]
