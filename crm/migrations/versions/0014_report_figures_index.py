"""One index holding every column the report's Likers figures read.

Replaces the single-column index on registered_on (its first column). On
PostgreSQL the totals, breakdowns, categories, months and society members are
then counted from the index alone (index-only scans), not from the table rows.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS = [
    "registered_on", "status", "withdrawn_on", "id", "residence", "prefecture",
    "channel_id", "birth_date", "birth_year", "card_issued_at", "certificate_issued_at",
]  # fmt: skip


def upgrade():
    op.create_index("ix_supporters_report_figures", "supporters", COLUMNS)
    op.drop_index("ix_supporters_registered_on", table_name="supporters")


def downgrade():
    op.create_index("ix_supporters_registered_on", "supporters", ["registered_on"])
    op.drop_index("ix_supporters_report_figures", table_name="supporters")
