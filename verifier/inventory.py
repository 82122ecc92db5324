"""The inventory in the store: tools synced from the configuration, and operators' overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import orjson
from sqlalchemy import Engine, select
from sqlmodel import Session

from verifier.config import Config, ToolConfig
from verifier.errors import NotFoundError
from verifier.incidents import IncidentKind, Severity, record_incident, resolve_incident
from verifier.policy import Override, Reason, ReleaseFacts, ToolFacts
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
            expires_at=now + expires_in if expires_in else None,
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
    with Session(engine) as session:
        row = session.get(OverrideRow, override_id)
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


def _override(row: OverrideRow) -> Override:
    assert row.id is not None
    return Override(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]
        reason=row.reason,
        actor=row.actor,
        created_at=row.created_at,
        version=row.version,
        sha256=row.sha256,
        commit=row.commit,
        expires_at=row.expires_at,
        advisory=row.advisory,
    )


def _release(row: ReleaseRow, assets: list[AssetRow], tag_commit: str | None) -> ReleaseFacts:
    """`tag_commit`: where the release's tag points now (it differs from the pin once moved)."""
    reasons = tuple(Reason(**reason) for reason in orjson.loads(row.reasons_json))
    changes = orjson.loads(row.evidence_json).get("changes", ())
    return ReleaseFacts(
        version=row.version,
        status=row.status,  # type: ignore[arg-type]
        first_seen_at=row.first_seen_at,
        assets={asset.name: asset.sha256 for asset in assets},
        commits=frozenset(commit for commit in (row.commit, tag_commit) if commit),
        reasons=reasons,
        pinned_commit=row.commit,
        changes=tuple(Reason(**change) for change in changes),
    )


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
    """Compile the store's tools, releases and overrides into the policy's facts."""
    tools = session.scalars(select(ToolRow)).all()
    releases: dict[str, dict[str, ReleaseFacts]] = {}
    assets_by_release: dict[int, list[AssetRow]] = {}
    for asset in session.scalars(select(AssetRow)):
        assets_by_release.setdefault(asset.release_id, []).append(asset)
    tag_commits = {
        (pin.tool, canonical_version(pin.tag)): pin.current_commit
        for pin in session.scalars(select(TagPinRow))
    }
    by_commit: dict[str, dict[str, str]] = {}
    for release in session.scalars(select(ReleaseRow)):
        key = canonical_version(release.version)
        facts = _release(
            release,
            assets_by_release.get(release.id or -1, []),
            tag_commits.get((release.tool, key)),
        )
        releases.setdefault(release.tool, {})[key] = facts
        for commit in facts.commits:
            by_commit.setdefault(release.tool, {})[commit] = key
    overrides: dict[str, list[Override]] = {}
    for row in session.scalars(select(OverrideRow).where(OverrideRow.revoked_at.is_(None))):
        overrides.setdefault(row.tool, []).append(_override(row))
    result = {}
    for row in tools:
        tool = ToolConfig.model_validate_json(row.config_json)
        tool_overrides = overrides.get(row.name, [])
        result[row.name] = ToolFacts(
            name=row.name,
            mode=tool.mode or config.policy.mode,
            cooldown=tool.cooldown if tool.cooldown is not None else config.policy.cooldown,
            approved=ApprovedVersions(tool.versions),
            releases=releases.get(row.name, {}),
            approvals=tuple(o for o in tool_overrides if o.kind == "approve"),
            blocks=tuple(o for o in tool_overrides if o.kind == "block"),
            waivers=(
                *(o for o in tool_overrides if o.kind == "waive"),
                *_config_waivers(config, row.name),
            ),
            advisory_packages=tool.advisory_packages,
            by_commit=by_commit.get(row.name, {}),
        )
    return result
