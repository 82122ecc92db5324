"""Advisory waivers are overrides of kind "waive" naming an advisory.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:41:13.132480
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("override", schema=None) as batch_op:
        batch_op.add_column(sa.Column("advisory", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("override", schema=None) as batch_op:
        batch_op.drop_column("advisory")
