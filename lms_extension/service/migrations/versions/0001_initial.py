"""The first schema: content versions, cohorts, extensions, events, progress, survey responses.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "content_versions",
        sa.Column("sha", sa.String(64), primary_key=True),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("catalog", sa.JSON, nullable=False),
    )
    op.create_table(
        "cohorts",
        sa.Column("group", sa.String(255), primary_key=True),
        sa.Column("course", sa.String(64), nullable=False),
        sa.Column("start", TZ, nullable=False),
    )
    op.create_table(
        "extensions",
        sa.Column("group", sa.String(255), sa.ForeignKey("cohorts.group", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user", sa.String(255), primary_key=True),
        sa.Column("lesson", sa.String(64), primary_key=True),
        sa.Column("days", sa.Float, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("course", sa.String(64), nullable=False),
        sa.Column("lesson", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "progress",
        sa.Column("user", sa.String(255), primary_key=True),
        sa.Column("course", sa.String(64), primary_key=True, index=True),
        sa.Column("lesson", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_opened", TZ),
        sa.Column("last_activity", TZ),
        sa.Column("completed_at", TZ),
        sa.Column("active_seconds", sa.Float, nullable=False),
        sa.Column("cells_ok", sa.JSON, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
    )
    op.create_table(
        "survey_responses",
        sa.Column("user", sa.String(255), primary_key=True),
        sa.Column("course", sa.String(64), primary_key=True),
        sa.Column("lesson", sa.String(64), primary_key=True),
        sa.Column("survey", sa.String(64), nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
    )


def downgrade():
    for table in ("survey_responses", "progress", "events", "extensions", "cohorts",
                  "content_versions"):
        op.drop_table(table)
