"""Each Liker's first participation day, kept by the database

Revision ID: 0009
Revises: 0008

The report's "first time in the period" asked, for each of tens of thousands of
participants, whether they had attended before: on PostgreSQL a third of the
report's time. The day is now a column, kept by triggers on attendances, so every
way of writing attendance (check-in, import, merge, undo, bulk loads) keeps it.
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
)


def upgrade():
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_participated_on", sa.Date(), nullable=True))
    op.execute(
        """UPDATE supporters SET first_participated_on = firsts.day
        FROM (SELECT a.supporter_id, min(d.day) AS day FROM attendances a
              JOIN event_days d ON d.id = a.event_day_id GROUP BY a.supporter_id) AS firsts
        WHERE supporters.id = firsts.supporter_id"""
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRESQL_FUNCTION)
        for statement in _POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS trg_attendances_first_day_{name}"
                   + (" ON attendances" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS crm_attendances_first_day()")
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.drop_column("first_participated_on")
