"""Refusals reported by lesson servers: where an event was refused (``source``) and the
report's id (unique per learner, so a report sent twice is stored once).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("refusals", sa.Column("source", sa.String(16), nullable=False,
                                        server_default="service"))
    op.add_column("refusals", sa.Column("report_id", sa.String(80), nullable=True))
    op.create_index("ux_refusals_user_report", "refusals", ["user", "report_id"], unique=True)


def downgrade():
    op.drop_index("ux_refusals_user_report", table_name="refusals")
    with op.batch_alter_table("refusals") as batch:
        batch.drop_column("report_id")
        batch.drop_column("source")
