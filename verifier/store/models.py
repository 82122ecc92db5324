"""The store's tables. Runtime facts live here; the configuration is synced into `tool`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC on every backend and read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class ToolRow(SQLModel, table=True):
    """A tool of the inventory, as last synced from the configuration."""

    __tablename__ = "tool"

    name: str = Field(primary_key=True, max_length=200)
    source: str = Field(max_length=500)
    kind: str = Field(max_length=16)
    config_json: str = Field(sa_column=Column(Text, nullable=False))
    synced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReleaseRow(SQLModel, table=True):
    """A release toolgate has seen upstream, and the state of its verification."""

    __tablename__ = "release"
    __table_args__ = (UniqueConstraint("tool", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    tool: str = Field(max_length=200, index=True)
    version: str = Field(max_length=128)
    status: str = Field(max_length=16)  # pending | verified | rejected
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    commit: str | None = Field(default=None, max_length=64)
    reasons_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    # signer, commit, Rekor entry, checksum source…; "changes": upstream changes after first
    # sight (digest-changed, tag-moved), which deny everything but the pinned digest/commit
    evidence_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class AssetRow(SQLModel, table=True):
    """A file of a release and the digest pinned when toolgate first saw it."""

    __tablename__ = "asset"
    __table_args__ = (UniqueConstraint("release_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    name: str = Field(max_length=255)
    sha256: str = Field(max_length=64, index=True)
    size: int | None = None
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OverrideRow(SQLModel, table=True):
    """An operator's approval, block or advisory waiver, with who, why and until when."""

    __tablename__ = "override"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # approve | block | waive
    tool: str = Field(max_length=200, index=True)
    version: str | None = Field(default=None, max_length=128)  # waive: a versions specifier
    advisory: str | None = Field(default=None, max_length=100)  # waive: any id of the group
    sha256: str | None = Field(default=None, max_length=64)
    commit: str | None = Field(default=None, max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=200)


class ApiTokenRow(SQLModel, table=True):
    """An API token: only its SHA-256 is stored; the token itself is shown once at creation."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    scopes: str = Field(max_length=200)  # space-separated
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DecisionLogRow(SQLModel, table=True):
    """One answer given to a runner: the audit trail of who fetched what."""

    __tablename__ = "decision_log"
    __table_args__ = (
        Index("ix_decision_log_tool_at", "tool", "at"),
        Index("ix_decision_log_tool_version", "tool", "version"),  # exposure of one version
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True, sa_type=UTCDateTime)
    token_name: str = Field(max_length=200)
    runner: str | None = Field(default=None, max_length=200)
    job: str | None = Field(default=None, max_length=2000)
    tool: str = Field(max_length=200)
    version: str = Field(max_length=128)
    sha256: str | None = Field(default=None, max_length=64)
    asset: str | None = Field(default=None, max_length=255)
    decision: str = Field(max_length=8)
    would_deny: bool = False
    reasons_json: str = Field(sa_column=Column(Text, nullable=False))
    revision: int


class EventRow(SQLModel, table=True):
    """An operator action (approve, block, token change…): the administrative audit trail."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    target: str = Field(max_length=500)
    detail_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class StoreStateRow(SQLModel, table=True):
    """Named counters; `revision` grows with every change of the facts decisions depend on."""

    __tablename__ = "store_state"

    key: str = Field(primary_key=True, max_length=64)
    value: int = 0


class IncidentRow(SQLModel, table=True):
    """Something that changed a decision for the worse: the source of alerts.

    `dedupe_key` names the incident stably (the same event seen again maps to the same row);
    `fingerprint` changes only when the incident changes materially (severity, detail).
    """

    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=500, unique=True)
    kind: str = Field(max_length=32, index=True)
    tool: str = Field(max_length=200, index=True)
    version: str | None = Field(default=None, max_length=128)
    severity: str = Field(max_length=16)  # critical | high | medium | low
    summary: str = Field(max_length=500)
    detail_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(max_length=64)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertRow(SQLModel, table=True):
    """The outbox: one material state of an incident to announce, written with the incident.

    `dedupe_key` hashes the incident's key, its fingerprint and the exposed runners, so the same
    state seen again adds nothing; `exposure_json` is the exposure the alert reports.
    """

    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=64, unique=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    fingerprint: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    tool: str = Field(max_length=200)
    version: str | None = Field(default=None, max_length=128)
    severity: str = Field(max_length=16)
    summary: str = Field(max_length=500)
    detail_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    exposure_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    routed_at: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)


class AlertDeliveryRow(SQLModel, table=True):
    """One alert to one recipient or webhook; claimed by a sender with a lease, retried, sent.

    `dedupe_key` hashes (alert, channel, target): it is the Message-ID / delivery id receivers
    dedupe on. `digest_key` groups the warnings one recipient gets in one digest window.
    """

    __tablename__ = "alert_delivery"
    __table_args__ = (Index("ix_alert_delivery_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=64, unique=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    channel: str = Field(max_length=16)  # email | webhook
    target: str = Field(max_length=320)  # an address, or the webhook's name
    action: str = Field(max_length=8)  # deny | warn: what runners are now told
    digest_key: str | None = Field(default=None, max_length=400)
    status: str = Field(default="pending", max_length=16)  # pending | sent | dead
    attempts: int = 0
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HttpCacheRow(SQLModel, table=True):
    """The validator (ETag) of an upstream listing and the normalised body it answered, so an
    unchanged poll costs one conditional request and still knows what the listing holds."""

    __tablename__ = "http_cache"

    url: str = Field(primary_key=True, max_length=1000)
    etag: str = Field(max_length=500)
    body_json: str = Field(sa_column=Column(Text, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AssetPinRow(SQLModel, table=True):
    """An upstream release file as toolgate first saw it; any later difference is an incident."""

    __tablename__ = "asset_pin"
    __table_args__ = (UniqueConstraint("tool", "version", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    tool: str = Field(max_length=200, index=True)
    version: str = Field(max_length=128)
    name: str = Field(max_length=255)
    upstream_id: int | None = Field(default=None, sa_type=BigInteger)
    size: int | None = Field(default=None, sa_type=BigInteger)
    digest: str | None = Field(default=None, max_length=200)  # "sha256:<hex>" as published
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TagPinRow(SQLModel, table=True):
    """The commit a tag pointed at when first seen (`commit`) and where it points now."""

    __tablename__ = "tag_pin"
    __table_args__ = (UniqueConstraint("tool", "tag"),)

    id: int | None = Field(default=None, primary_key=True)
    tool: str = Field(max_length=200, index=True)
    tag: str = Field(max_length=255)
    commit: str = Field(max_length=64)
    current_commit: str = Field(max_length=64)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    moved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CommitCheckRow(SQLModel, table=True):
    """Whether a commit is reachable from a protected branch of a repository (asked once)."""

    __tablename__ = "commit_check"
    __table_args__ = (UniqueConstraint("repository", "commit"),)

    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(max_length=200)
    commit: str = Field(max_length=64)
    status: str = Field(max_length=16)  # on-branch | not-on-branch | unknown-commit
    branch: str | None = Field(default=None, max_length=255)  # the branch that contains it
    checked_branches: str = Field(max_length=1000)  # space-separated
    checked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EvidenceBaselineRow(SQLModel, table=True):
    """The evidence profile of a tool's last accepted release; weaker or other evidence on a
    new release holds it with `evidence-changed` until an operator accepts the change."""

    __tablename__ = "evidence_baseline"

    tool: str = Field(primary_key=True, max_length=200)
    version: str = Field(max_length=128)
    profile_json: str = Field(sa_column=Column(Text, nullable=False))
    accepted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    accepted_by: str = Field(max_length=200)
    reason: str = Field(sa_column=Column(Text, nullable=False))


class LeaseRow(SQLModel, table=True):
    """Background work shared by replicas (a tool's poll, a feed's sync): who holds it until
    when, and when it is next due. Claimed by one conditional upsert (see `verifier.leases`)."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=300)
    holder: str | None = Field(default=None, max_length=100)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
