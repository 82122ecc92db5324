"""A leaner audit table: decision_log drops its (tool, at) index.

Every decision answered is one row appended to decision_log, and each index is one more B-tree
insert per row; (tool, at) was the costliest, a random position in a growing tree (about
16 us of the writer's ~26 us per row at 100,000 rows on SQLite). What reads the log keeps an
index: time windows and audit pages use (at); exposure and per-tool audit filters use
(tool, version) (a per-tool page sorts that tool's rows, or walks (at) backwards).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:30:00.000000
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_decision_log_tool_at", table_name="decision_log")


def downgrade() -> None:
    op.create_index("ix_decision_log_tool_at", "decision_log", ["tool", "at"], unique=False)
