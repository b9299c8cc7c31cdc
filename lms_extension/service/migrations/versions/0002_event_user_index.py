"""Index events by learner and course, for per-learner exports and audits.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_events_user_course", "events", ["user", "course"])


def downgrade():
    op.drop_index("ix_events_user_course", table_name="events")
