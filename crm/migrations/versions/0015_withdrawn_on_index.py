"""An index of the Likers who withdrew, for the report's categories and societies.

The report counts the Likers per category and per society by subtracting the
records that are not registered Likers on the as-of date (pending, rejected,
merged, registered later or withdrawn by then) from all links: a few thousand
records, each group found by an index, instead of reading every Liker's row.
Withdrawals had no index; this partial one holds only the rows that have one.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_supporters_withdrawn_on",
        "supporters",
        ["withdrawn_on", "id"],
        postgresql_where=sa.text("withdrawn_on IS NOT NULL"),
        sqlite_where=sa.text("withdrawn_on IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_supporters_withdrawn_on", table_name="supporters")
