"""Each Liker's first participation day and first card and certificate, kept by the database

Revision ID: 0009
Revises: 0008

The report's "first time in the period" asked, for each of tens of thousands of
participants, whether they had attended before, and "card issued" looked every
Liker up in the issuance ledger: on PostgreSQL most of the report's time. These
are now columns, kept by triggers on attendances and issuances, so every way of
writing them (check-in, import, merge, undo, printing, bulk loads) keeps them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The earliest day among the Liker's attendance, or NULL.
_FIRST_DAY_OF = """(SELECT min(d.day) FROM attendances a
    JOIN event_days d ON d.id = a.event_day_id
    WHERE a.supporter_id = {who})"""
# A new attendance can only move the first day earlier: compared with the row's
# latest value, which stays right when two desks write at the same moment.
_EARLIER_OF = """CASE WHEN first_participated_on IS NULL OR first_participated_on > {day}
    THEN {day} ELSE first_participated_on END"""
_DAY_OF_NEW = "(SELECT day FROM event_days WHERE id = NEW.event_day_id)"

_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER trg_attendances_first_day_insert AFTER INSERT ON attendances
    BEGIN
        UPDATE supporters SET first_participated_on = {_EARLIER_OF.format(day=_DAY_OF_NEW)}
        WHERE id = NEW.supporter_id;
    END""",
    f"""CREATE TRIGGER trg_attendances_first_day_delete AFTER DELETE ON attendances
    BEGIN
        UPDATE supporters SET first_participated_on = {_FIRST_DAY_OF.format(who="OLD.supporter_id")}
        WHERE id = OLD.supporter_id;
    END""",
    f"""CREATE TRIGGER trg_attendances_first_day_update
    AFTER UPDATE OF supporter_id, event_day_id ON attendances
    BEGIN
        UPDATE supporters SET first_participated_on = {_FIRST_DAY_OF.format(who="supporters.id")}
        WHERE id IN (OLD.supporter_id, NEW.supporter_id);
    END""",
)

# The first card and certificate: the earliest issue of each kind in the ledger.
_FIRST_ISSUE_OF = """(SELECT min(i.issued_at) FROM issuances i
    WHERE i.supporter_id = {who} AND i.kind = '{kind}')"""
_ISSUES_REFRESHED = (
    "card_issued_at = " + _FIRST_ISSUE_OF.format(who="supporters.id", kind="card")
    + ", certificate_issued_at = "
    + _FIRST_ISSUE_OF.format(who="supporters.id", kind="certificate")
)
_ISSUE_ADDED = """card_issued_at = CASE WHEN NEW.kind = 'card'
        AND (card_issued_at IS NULL OR card_issued_at > NEW.issued_at)
        THEN NEW.issued_at ELSE card_issued_at END,
    certificate_issued_at = CASE WHEN NEW.kind = 'certificate'
        AND (certificate_issued_at IS NULL OR certificate_issued_at > NEW.issued_at)
        THEN NEW.issued_at ELSE certificate_issued_at END"""

_SQLITE_TRIGGERS += (
    f"""CREATE TRIGGER trg_issuances_first_insert AFTER INSERT ON issuances
    BEGIN
        UPDATE supporters SET {_ISSUE_ADDED} WHERE id = NEW.supporter_id;
    END""",
    f"""CREATE TRIGGER trg_issuances_first_delete AFTER DELETE ON issuances
    BEGIN
        UPDATE supporters SET {_ISSUES_REFRESHED} WHERE id = OLD.supporter_id;
    END""",
    f"""CREATE TRIGGER trg_issuances_first_update
    AFTER UPDATE OF supporter_id, kind, issued_at ON issuances
    BEGIN
        UPDATE supporters SET {_ISSUES_REFRESHED}
        WHERE id IN (OLD.supporter_id, NEW.supporter_id);
    END""",
)

_POSTGRESQL_ISSUES_FUNCTION = f"""
CREATE FUNCTION crm_issuances_first() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE supporters SET {_ISSUE_ADDED} WHERE id = NEW.supporter_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE supporters SET {_ISSUES_REFRESHED} WHERE id = OLD.supporter_id;
    ELSE
        UPDATE supporters SET {_ISSUES_REFRESHED}
        WHERE id IN (OLD.supporter_id, NEW.supporter_id);
    END IF;
    RETURN NULL;
END $$"""

_POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION crm_attendances_first_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE supporters SET first_participated_on = {_EARLIER_OF.format(day=_DAY_OF_NEW)}
        WHERE id = NEW.supporter_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE supporters SET first_participated_on = {_FIRST_DAY_OF.format(who="OLD.supporter_id")}
        WHERE id = OLD.supporter_id;
    ELSE
        UPDATE supporters SET first_participated_on = {_FIRST_DAY_OF.format(who="supporters.id")}
        WHERE id IN (OLD.supporter_id, NEW.supporter_id);
    END IF;
    RETURN NULL;
END $$"""

_POSTGRESQL_TRIGGERS = (
    """CREATE TRIGGER trg_attendances_first_day_insert AFTER INSERT ON attendances
    FOR EACH ROW EXECUTE FUNCTION crm_attendances_first_day()""",
    """CREATE TRIGGER trg_attendances_first_day_delete AFTER DELETE ON attendances
    FOR EACH ROW EXECUTE FUNCTION crm_attendances_first_day()""",
    """CREATE TRIGGER trg_attendances_first_day_update
    AFTER UPDATE OF supporter_id, event_day_id ON attendances
    FOR EACH ROW EXECUTE FUNCTION crm_attendances_first_day()""",
    """CREATE TRIGGER trg_issuances_first_insert AFTER INSERT ON issuances
    FOR EACH ROW EXECUTE FUNCTION crm_issuances_first()""",
    """CREATE TRIGGER trg_issuances_first_delete AFTER DELETE ON issuances
    FOR EACH ROW EXECUTE FUNCTION crm_issuances_first()""",
    """CREATE TRIGGER trg_issuances_first_update
    AFTER UPDATE OF supporter_id, kind, issued_at ON issuances
    FOR EACH ROW EXECUTE FUNCTION crm_issuances_first()""",
)


def upgrade():
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_participated_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("card_issued_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("certificate_issued_at", sa.DateTime(), nullable=True)
        )
        # The report reads each participant's residence and first day from the
        # index alone (PostgreSQL: an index-only scan instead of the table).
        batch_op.create_index(
            "ix_supporters_participant", ["id", "residence", "first_participated_on"]
        )
    op.execute(
        """UPDATE supporters SET first_participated_on = firsts.day
        FROM (SELECT a.supporter_id, min(d.day) AS day FROM attendances a
              JOIN event_days d ON d.id = a.event_day_id GROUP BY a.supporter_id) AS firsts
        WHERE supporters.id = firsts.supporter_id"""
    )
    op.execute(
        """UPDATE supporters SET
            card_issued_at = firsts.card, certificate_issued_at = firsts.certificate
        FROM (SELECT supporter_id,
                     min(CASE WHEN kind = 'card' THEN issued_at END) AS card,
                     min(CASE WHEN kind = 'certificate' THEN issued_at END) AS certificate
              FROM issuances GROUP BY supporter_id) AS firsts
        WHERE supporters.id = firsts.supporter_id"""
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRESQL_FUNCTION)
        op.execute(_POSTGRESQL_ISSUES_FUNCTION)
        for statement in _POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, names in (("attendances", "first_day"), ("issuances", "first")):
        for event in ("insert", "delete", "update"):
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_{names}_{event}{on}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS crm_attendances_first_day()")
        op.execute("DROP FUNCTION IF EXISTS crm_issuances_first()")
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.drop_index("ix_supporters_participant")
        batch_op.drop_column("certificate_issued_at")
        batch_op.drop_column("card_issued_at")
        batch_op.drop_column("first_participated_on")
