"""The inventory in the store: tools synced from the configuration, and operators' overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import orjson
from sqlalchemy import Connection, Engine, select
from sqlmodel import Session

from verifier.config import Config, ToolConfig
from verifier.errors import NotFoundError
from verifier.incidents import IncidentKind, Severity, record_incident, resolve_incident
from verifier.policy import Override, Reason, ReleaseFacts, ToolFacts
from verifier.storable import check_text, valid_id
from verifier.store.events import record_event
from verifier.store.models import AssetRow, OverrideRow, ReleaseRow, TagPinRow, ToolRow
from verifier.store.revision import bump_revision
from verifier.versioning import ApprovedVersions, canonical_version


@dataclass(frozen=True, slots=True)
class SyncReport:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def sync_tools(engine: Engine, config: Config) -> SyncReport:
    """Make the store's tool table match the configuration (on start and on reload)."""
    wanted = {tool.name: tool for tool in config.tools}
    added, updated, removed = [], [], []
    with Session(engine) as session:
        existing = {row.name: row for row in session.scalars(select(ToolRow))}
        for name, tool in wanted.items():
            config_json = tool.model_dump_json()
            row = existing.get(name)
            if row is None:
                session.add(
                    ToolRow(name=name, source=tool.source, kind=tool.kind, config_json=config_json)
                )
                added.append(name)
            elif row.config_json != config_json:
                row.source, row.kind, row.config_json = tool.source, tool.kind, config_json
                row.synced_at = datetime.now(UTC)
                updated.append(name)
        for name, row in existing.items():
            if name not in wanted:
                session.delete(row)
                removed.append(name)
        report = SyncReport(tuple(added), tuple(updated), tuple(removed))
        if report.changed:
            record_event(
                session, "config", "inventory-sync", str(config.source_path), **_asdict(report)
            )
            bump_revision(session)
        session.commit()
    return report


def _asdict(report: SyncReport) -> dict[str, list[str]]:
    return {
        "added": list(report.added),
        "updated": list(report.updated),
        "removed": list(report.removed),
    }


def add_override(
    engine: Engine,
    *,
    kind: Literal["approve", "block", "waive"],
    tool: str,
    actor: str,
    reason: str,
    version: str | None = None,
    sha256: str | None = None,
    commit: str | None = None,
    advisory: str | None = None,
    expires_in: timedelta | None = None,
) -> int:
    """Record an approval, block or waiver; it takes effect at the next snapshot. Returns its id."""
    if not reason.strip():
        raise ValueError("a reason is required: say why, it is shown in every decision it affects")
    check_text(reason, "the reason")
    now = datetime.now(UTC)
    with Session(engine) as session:
        if session.get(ToolRow, tool) is None:
            raise NotFoundError(f'tool "{tool}" is not in the inventory (see `toolgate tools`)')
        row = OverrideRow(
            kind=kind,
            tool=tool,
            version=version,
            sha256=sha256.lower() if sha256 else None,
            commit=commit.lower() if commit else None,
            advisory=advisory,
            reason=reason.strip(),
            actor=actor,
            created_at=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
        session.add(row)
        session.flush()
        record_event(
            session,
            actor,
            kind,
            f"{tool} {version or ''}".strip(),
            override_id=row.id,
            sha256=row.sha256,
            commit=row.commit,
            advisory=row.advisory,
            reason=row.reason,
            expires_at=row.expires_at.isoformat() if row.expires_at else None,
        )
        if kind == "block":
            target = f"{tool} {version or row.sha256 or row.commit or 'every version'}"
            record_incident(
                session,
                kind=IncidentKind.MANUAL_BLOCK,
                tool=tool,
                version=version,
                severity=Severity.HIGH,
                summary=f"{target} blocked by {actor}: {row.reason}",
                detail={"override_id": row.id, "sha256": row.sha256, "commit": row.commit},
                dedupe_key=f"manual-block:{row.id}",
            )
        bump_revision(session)
        session.commit()
        assert row.id is not None
        return row.id


def revoke_override(engine: Engine, override_id: int, actor: str, reason: str) -> None:
    """Withdraw an approval or block before it expires."""
    check_text(reason, "the reason")
    with Session(engine) as session:
        row = session.get(OverrideRow, override_id) if valid_id(override_id) else None
        if row is None or row.revoked_at is not None:
            raise NotFoundError(f"no active override #{override_id} (see `toolgate overrides`)")
        row.revoked_at, row.revoked_by = datetime.now(UTC), actor
        if row.kind == "block":  # later fetches are not exposure to a block no longer in force
            resolve_incident(session, f"manual-block:{override_id}")
        record_event(session, actor, "revoke", f"override #{override_id}", reason=reason)
        bump_revision(session)
        session.commit()


def list_overrides(engine: Engine, include_inactive: bool = False) -> list[OverrideRow]:
    """Overrides, newest first; by default only those still in force."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        rows = session.scalars(select(OverrideRow).order_by(OverrideRow.id.desc())).all()
    if include_inactive:
        return list(rows)
    return [
        r for r in rows if r.revoked_at is None and (r.expires_at is None or r.expires_at > now)
    ]


_TOOL = ToolRow.__table__.c  # type: ignore[attr-defined]
_RELEASE = ReleaseRow.__table__.c  # type: ignore[attr-defined]
_ASSET = AssetRow.__table__.c  # type: ignore[attr-defined]
_TAG_PIN = TagPinRow.__table__.c  # type: ignore[attr-defined]
_OVERRIDE = OverrideRow.__table__.c  # type: ignore[attr-defined]


def _reasons(text: str) -> tuple[Reason, ...]:
    return () if text == "[]" else tuple(Reason(**reason) for reason in orjson.loads(text))


def _changes(evidence_json: str) -> tuple[Reason, ...]:
    """Upstream changes recorded in a release's evidence (parsed only when it names any)."""
    if '"changes"' not in evidence_json:
        return ()
    return tuple(Reason(**change) for change in orjson.loads(evidence_json).get("changes", ()))


def _assets_by_release(connection: Connection) -> dict[int, dict[str, str]]:
    """Each release's assets: name -> pinned sha256."""
    assets: dict[int, dict[str, str]] = {}
    for release_id, name, sha256 in connection.execute(
        select(_ASSET.release_id, _ASSET.name, _ASSET.sha256)
    ):
        assets.setdefault(release_id, {})[name] = sha256
    return assets


def _overrides(connection: Connection) -> dict[str, list[Override]]:
    """Overrides not revoked (expired ones included: the policy weighs expiry), by tool."""
    columns = (_OVERRIDE.tool, _OVERRIDE.id, _OVERRIDE.kind, _OVERRIDE.reason, _OVERRIDE.actor)
    columns += (_OVERRIDE.created_at, _OVERRIDE.version, _OVERRIDE.sha256, _OVERRIDE.commit)
    columns += (_OVERRIDE.expires_at, _OVERRIDE.advisory)
    by_tool: dict[str, list[Override]] = {}
    statement = select(*columns).where(_OVERRIDE.revoked_at.is_(None))
    for tool, *fields in connection.execute(statement):
        by_tool.setdefault(tool, []).append(Override(*fields))
    return by_tool


def _config_waivers(config: Config, tool: str) -> tuple[Override, ...]:
    """`[[waiver]]` tables as overrides, one per versions entry (negative ids: not in the store)."""
    return tuple(
        Override(
            id=-index - 1,
            kind="waive",
            reason=waiver.reason,
            actor=f"config:{config.source_path.name}",
            created_at=waiver.expires,
            version=version,
            advisory=waiver.advisory,
            expires_at=waiver.expires,
        )
        for index, waiver in enumerate(config.waivers)
        if waiver.tool == tool
        for version in (waiver.versions or [None])
    )


def load_tool_facts(session: Session, config: Config) -> Mapping[str, ToolFacts]:
    """Compile the store's tools, releases and overrides into the policy's facts.

    One column-only select per table (no ORM objects): this runs on every snapshot rebuild."""
    connection = session.connection()  # Core rows: no ORM result machinery
    assets = _assets_by_release(connection)
    tag_commits = {
        (tool, canonical_version(tag)): current
        for tool, tag, current in connection.execute(
            select(_TAG_PIN.tool, _TAG_PIN.tag, _TAG_PIN.current_commit)
        )
    }
    releases: dict[str, dict[str, ReleaseFacts]] = {}
    by_commit: dict[str, dict[str, str]] = {}
    statement = select(
        _RELEASE.id,
        _RELEASE.tool,
        _RELEASE.version,
        _RELEASE.status,
        _RELEASE.first_seen_at,
        _RELEASE.commit,
        _RELEASE.reasons_json,
        _RELEASE.evidence_json,
    )
    for (
        release_id,
        tool,
        version,
        status,
        first_seen_at,
        commit,
        reasons,
        evidence,
    ) in connection.execute(statement):
        key = canonical_version(version)
        tag_commit = tag_commits.get((tool, key))  # differs from the pin once the tag moved
        commits = frozenset(c for c in (commit, tag_commit) if c)
        releases.setdefault(tool, {})[key] = ReleaseFacts(
            version=version,
            status=status,
            first_seen_at=first_seen_at,
            assets=assets.get(release_id, {}),
            commits=commits,
            reasons=_reasons(reasons),
            pinned_commit=commit,
            changes=_changes(evidence),
        )
        tool_commits = by_commit.setdefault(tool, {})
        for seen in commits:
            tool_commits[seen] = key
    overrides = _overrides(connection)
    result = {}
    for name, config_json in connection.execute(select(_TOOL.name, _TOOL.config_json)):
        tool = ToolConfig.model_validate_json(config_json)
        tool_overrides = overrides.get(name, [])
        result[name] = ToolFacts(
            name=name,
            mode=tool.mode or config.policy.mode,
            cooldown=tool.cooldown if tool.cooldown is not None else config.policy.cooldown,
            approved=ApprovedVersions(tool.versions),
            releases=releases.get(name, {}),
            approvals=tuple(o for o in tool_overrides if o.kind == "approve"),
            blocks=tuple(o for o in tool_overrides if o.kind == "block"),
            waivers=(
                *(o for o in tool_overrides if o.kind == "waive"),
                *_config_waivers(config, name),
            ),
            advisory_packages=tool.advisory_packages,
            by_commit=by_commit.get(name, {}),
        )
    return result
