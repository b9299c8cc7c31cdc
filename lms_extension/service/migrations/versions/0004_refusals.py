"""Keep the learner events the service refused for good, for the learners' instructors.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "refusals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.Column("course", sa.String(64), nullable=True),
        sa.Column("lesson", sa.String(64), nullable=True),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_refusals_user_at", "refusals", ["user", "at"])
    op.create_index("ix_refusals_course_at", "refusals", ["course", "at"])


def downgrade():
    op.drop_index("ix_refusals_course_at", table_name="refusals")
    op.drop_index("ix_refusals_user_at", table_name="refusals")
    op.drop_table("refusals")
