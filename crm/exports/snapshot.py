"""One consistent, read-only view of the database for an export, off the request.

An export first reads the ids it will write (for the audit row), commits that row,
then streams the file; both reads must see the same data, or the audit would name
other people than the file. The snapshot is a transaction of its own:
REPEATABLE READ on PostgreSQL, a deferred (read) transaction on SQLite.

On SQLite it also has its own connection without the app's begin hook: a POST
request begins IMMEDIATE (crm.database), and a write lock held for the seconds a
big export streams would stall the check-in desk. WAL lets the export read while
others write.
"""

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from crm.extensions import db

_READER = "crm.exports.sqlite_reader"


def open_snapshot() -> Connection:
    """A connection in a read-only snapshot transaction; the caller closes it."""
    if db.engine.dialect.name == "sqlite":
        connection = _sqlite_reader(current_app).connect()
    else:
        connection = db.engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    connection.begin()
    return connection


def _sqlite_reader(app: Flask) -> Engine:
    engine = app.extensions.get(_READER)
    if engine is not None:
        return engine
    # NullPool: a connection opened for each export, in the thread that streams it.
    engine = create_engine(db.engine.url, poolclass=NullPool)
    busy_timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        dbapi_connection.isolation_level = (
            None  # SQLAlchemy's BEGIN below, not pysqlite's
        )
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection):
        connection.exec_driver_sql("BEGIN DEFERRED")

    app.extensions[_READER] = engine
    return engine
