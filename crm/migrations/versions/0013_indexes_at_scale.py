"""Indexes found missing at 1,000,000 Likers and 10,000,000 attendance rows.

Measured with scripts/bench_scale.py (docs/postgresql.md has the figures):

- supporters.merged_into_id: the Liker page lists the records merged into the
  Liker (crm.supporters.merge.list_merged_from), and a merge re-points earlier
  merges; without an index both read the whole table (0.5 s per page view).
- supporters (residence, status, kana_key, id): the residence filter of the list
  counted its matches by reading a quarter of the table from disk (0.7–0.8 s);
  with this index the count and the first page come from the index alone, like
  the search indexes of 0001/0009.

Plain CREATE INDEX (not CONCURRENTLY, which cannot run inside the migration's
transaction): the table is locked against writes while each index is built,
some seconds at a million Likers, so upgrade outside opening hours.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supporters_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_index(
            "ix_supporters_residence_status_kana",
            ["residence", "status", "kana_key", "id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.drop_index("ix_supporters_residence_status_kana")
        batch_op.drop_index(batch_op.f("ix_supporters_merged_into_id"))
