"""Database triggers that make audit_entries append-only, on SQLite and PostgreSQL.

The app refuses to change or delete audit rows itself (crm.audit.models); these
triggers refuse it to everyone else who connects with the app's account.
The migration 0012 creates the same triggers (it keeps its own copy of the SQL).
"""

from sqlalchemy import Connection

MESSAGE = "audit_entries is append-only"

SQLITE_CREATE = [
    f"CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_entries_no_update",
    "DROP TRIGGER IF EXISTS audit_entries_no_delete",
]
POSTGRESQL_CREATE = [
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE "
    "ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE "
    "ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
    "DROP FUNCTION IF EXISTS audit_entries_append_only()",
]


def create_statements(dialect: str) -> list[str]:
    return POSTGRESQL_CREATE if dialect == "postgresql" else SQLITE_CREATE


def drop_statements(dialect: str) -> list[str]:
    return POSTGRESQL_DROP if dialect == "postgresql" else SQLITE_DROP


def clear_audit_log_for_tests(connection: Connection) -> None:
    """Empty the audit log between tests: the triggers are lifted for this only.

    Never called by the app. On PostgreSQL it needs a superuser (the tests' one).
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.exec_driver_sql("DELETE FROM audit_entries")
        connection.exec_driver_sql("SET LOCAL session_replication_role = origin")
        return
    for statement in SQLITE_DROP:
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql("DELETE FROM audit_entries")
    for statement in SQLITE_CREATE:
        connection.exec_driver_sql(statement)
