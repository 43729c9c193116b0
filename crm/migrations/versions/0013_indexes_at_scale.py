"""Indexes found missing at 1,000,000 Likers and 10,000,000 attendance rows.

Revision ID: 0013
Revises: 0012
"""

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
