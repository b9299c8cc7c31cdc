"""When a lesson turned delayed (``progress.delayed_at``, for the newly delayed learners on the
dashboard's front page) and the refused commits of the content repo with the validator's lines
(``content_refusals``).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("progress", sa.Column("delayed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "content_refusals",
        sa.Column("commit", sa.String(64), primary_key=True),
        sa.Column("first_refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
    )
    op.create_index("ix_content_refusals_last_refused_at", "content_refusals",
                    ["last_refused_at"])


def downgrade():
    op.drop_index("ix_content_refusals_last_refused_at", table_name="content_refusals")
    op.drop_table("content_refusals")
    with op.batch_alter_table("progress") as batch:
        batch.drop_column("delayed_at")
