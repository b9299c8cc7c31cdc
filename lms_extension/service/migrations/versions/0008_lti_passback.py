"""LTI 1.3 grade passback: each learner's launches from the school's LMS (``lti_launches``: which
line item scores which lesson or course) and the durable queue of scores to post
(``lti_passbacks``).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lti_launches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("sub", sa.String(255), nullable=False),
        sa.Column("course", sa.String(64), nullable=False),
        sa.Column("lesson", sa.String(64), nullable=False),
        sa.Column("lineitem", sa.String(1000), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("issuer", sa.String(1000), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("deployment_id", sa.String(255), nullable=False),
        sa.Column("context", sa.String(255), nullable=False),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_key", sa.String(200), nullable=True),
    )
    op.create_index("ux_lti_launches_user_lineitem", "lti_launches", ["user", "lineitem"],
                    unique=True)
    op.create_index("ix_lti_launches_user_course", "lti_launches", ["user", "course"])
    op.create_table(
        "lti_passbacks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("launch_id", sa.Integer(),
                  sa.ForeignKey("lti_launches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score_given", sa.Float(), nullable=False),
        sa.Column("score_maximum", sa.Float(), nullable=False),
        sa.Column("activity_progress", sa.String(32), nullable=False),
        sa.Column("grading_progress", sa.String(32), nullable=False),
        sa.Column("state_key", sa.String(200), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_lti_passbacks_status_next", "lti_passbacks", ["status", "next_try_at"])
    op.create_index("ix_lti_passbacks_launch", "lti_passbacks", ["launch_id"])


def downgrade():
    op.drop_index("ix_lti_passbacks_launch", table_name="lti_passbacks")
    op.drop_index("ix_lti_passbacks_status_next", table_name="lti_passbacks")
    op.drop_table("lti_passbacks")
    op.drop_index("ix_lti_launches_user_course", table_name="lti_launches")
    op.drop_index("ux_lti_launches_user_lineitem", table_name="lti_launches")
    op.drop_table("lti_launches")
