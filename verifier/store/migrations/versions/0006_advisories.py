"""Advisory tables of the `advisories` library, and the counter of advisory data changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 18:23:26.701891
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adv_advisory",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "adv_feed_hit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feed", sa.String(length=255), nullable=False),
        sa.Column("entry_id", sa.Text(), nullable=False),
        sa.Column("tool", sa.String(length=255), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("published", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version_hints", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed", "entry_id", "tool", name="uq_adv_feed_hit"),
    )
    op.create_table(
        "adv_feed_state",
        sa.Column("feed", sa.String(length=255), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("feed"),
    )
    op.create_table(
        "adv_kev",
        sa.Column("cve_id", sa.String(length=32), nullable=False),
        sa.Column("vendor_project", sa.Text(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("date_added", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("ransomware", sa.String(length=32), nullable=True),
        sa.Column("catalog_version", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("cve_id"),
    )
    op.create_table(
        "adv_affected",
        sa.Column("advisory_id", sa.String(length=255), nullable=False),
        sa.Column("ecosystem", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(["advisory_id"], ["adv_advisory.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("advisory_id", "ecosystem", "package"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("adv_affected", schema=None) as batch_op:
        batch_op.create_index("ix_adv_affected_package", ["ecosystem", "package"], unique=False)

    op.create_table(
        "adv_alias",
        sa.Column("advisory_id", sa.String(length=255), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["advisory_id"], ["adv_advisory.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("advisory_id", "alias"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("adv_alias", schema=None) as batch_op:
        batch_op.create_index("ix_adv_alias_alias", ["alias"], unique=False)

    state = sa.table("store_state", sa.column("key", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(state, [{"key": "advisories", "value": 1}])


def downgrade() -> None:
    op.execute("DELETE FROM store_state WHERE key = 'advisories'")
    with op.batch_alter_table("adv_alias", schema=None) as batch_op:
        batch_op.drop_index("ix_adv_alias_alias")

    op.drop_table("adv_alias")
    with op.batch_alter_table("adv_affected", schema=None) as batch_op:
        batch_op.drop_index("ix_adv_affected_package")

    op.drop_table("adv_affected")
    op.drop_table("adv_kev")
    op.drop_table("adv_feed_state")
    op.drop_table("adv_feed_hit")
    op.drop_table("adv_advisory")
