"""Personal-data rights (corrections, stop use, erase) and the audit chain

Audit entries get a hash chain (existing rows are chained in id order) and
triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE); Likers get the
times their use was stopped and their data erased; corrections are recorded.

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MESSAGE = "audit_entries is append-only"
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE "
    "ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE "
    "ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
]


def _chain_existing_rows():
    from crm.audit.chain import HASHED, chained

    audit = sa.table(
        "audit_entries",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime),
        sa.column("user_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.Integer),
        sa.column("details", sa.JSON),
        sa.column("ip_address", sa.String),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(audit.c.id, *(audit.c[name] for name in HASHED)).order_by(audit.c.id)
    ).mappings()
    updates = [
        {"row_id": row_id, "prev": prev, "digest": digest}
        for row_id, prev, digest in chained(rows)
    ]
    statement = (
        audit.update()
        .where(audit.c.id == sa.bindparam("row_id"))
        .values(prev_hash=sa.bindparam("prev"), hash=sa.bindparam("digest"))
    )
    for start in range(0, len(updates), 1000):
        connection.execute(statement, updates[start : start + 1000])


def upgrade():
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_rows()
    dialect = op.get_bind().dialect.name
    for statement in (
        POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS
    ):
        op.execute(statement)

    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("use_stopped_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))

    op.create_table(
        "supporter_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supporter_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("corrected_at", sa.DateTime(), nullable=False),
        sa.Column("corrected_by_id", sa.Integer(), nullable=True),
        sa.Column("values_erased", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supporter_id"],
            ["supporters.id"],
            name=op.f("fk_supporter_corrections_supporter_id_supporters"),
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"],
            ["users.id"],
            name=op.f("fk_supporter_corrections_corrected_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supporter_corrections")),
    )
    with op.batch_alter_table("supporter_corrections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supporter_corrections_supporter", ["supporter_id", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("supporter_corrections", schema=None) as batch_op:
        batch_op.drop_index("ix_supporter_corrections_supporter")
    op.drop_table("supporter_corrections")
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("use_stopped_at")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
