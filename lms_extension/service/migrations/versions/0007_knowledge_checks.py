"""Knowledge checks: each content version's checks with their answer keys (``check_sets``, kept
apart from the catalog the service serves) and every learner's attempts (``check_attempts``).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "check_sets",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("course", sa.String(64), primary_key=True),
        sa.Column("lesson", sa.String(64), primary_key=True),
        sa.Column("definition", sa.JSON(), nullable=False),
    )
    op.create_table(
        "check_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("course", sa.String(64), nullable=False),
        sa.Column("lesson", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_check_attempts_user_lesson", "check_attempts",
                    ["user", "course", "lesson"])
    op.create_index("ix_check_attempts_course_lesson", "check_attempts", ["course", "lesson"])


def downgrade():
    op.drop_index("ix_check_attempts_course_lesson", table_name="check_attempts")
    op.drop_index("ix_check_attempts_user_lesson", table_name="check_attempts")
    op.drop_table("check_attempts")
    op.drop_table("check_sets")
