"""Release watcher: listing cache, asset and tag pins, commit checks, evidence baselines

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:45:59.618281
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_pin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("upstream_id", sa.BigInteger(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(length=200), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tool", "version", "name"),
    )
    with op.batch_alter_table("asset_pin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_pin_tool"), ["tool"], unique=False)

    op.create_table(
        "commit_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("checked_branches", sa.String(length=1000), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository", "commit"),
    )
    op.create_table(
        "evidence_baseline",
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("profile_json", sa.Text(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tool"),
    )
    op.create_table(
        "http_cache",
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=False),
        sa.Column("body_json", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_table(
        "tag_pin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=False),
        sa.Column("current_commit", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("moved_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tool", "tag"),
    )
    with op.batch_alter_table("tag_pin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tag_pin_tool"), ["tool"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tag_pin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tag_pin_tool"))

    op.drop_table("tag_pin")
    op.drop_table("http_cache")
    op.drop_table("evidence_baseline")
    op.drop_table("commit_check")
    with op.batch_alter_table("asset_pin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_pin_tool"))

    op.drop_table("asset_pin")
