"""Exposure: index the decision log by (tool, version), so who fetched one version is a lookup.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:34:56.096100
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decision_log", schema=None) as batch_op:
        batch_op.create_index("ix_decision_log_tool_version", ["tool", "version"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decision_log", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_log_tool_version")
