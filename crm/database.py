"""Database engine set-up: SQLite durability and locking, shared helpers."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from flask import Flask, g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from crm.extensions import db

READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}
_reading_only: ContextVar[bool] = ContextVar("reading_only", default=False)


@contextmanager
def reading_only() -> Iterator[None]:
    """Transactions begun inside only read: on SQLite they take no write lock.

    For long reads outside a request (a report from the command line), so the
    desks checking people in need not wait for them. Commit before leaving.
    """
    token = _reading_only.set(True)
    try:
        yield
    finally:
        _reading_only.reset(token)


def sqlite_url_for(instance_path: str) -> str:
    return f"sqlite:///{instance_path}/crm.sqlite3"


def wants_write_lock() -> bool:
    """Whether the transaction about to begin should take SQLite's write lock at once.

    A deferred transaction that reads and then writes fails with SQLITE_BUSY without
    waiting for busy_timeout when another writer got in between. Requests that may
    write (POST, or GET views marked with @writes_data) and CLI commands therefore
    begin IMMEDIATE; plain page views stay deferred so readers never queue.
    """
    if _reading_only.get():
        return False
    if has_request_context():
        return request.method not in READ_ONLY_METHODS or g.get("writes_data", False)
    return True


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Per-connection pragmas and explicit BEGIN handling for the pysqlite driver."""

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a committed registration survives a power cut, even in WAL mode.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    writers = WriterQueue.for_database(engine.url.database, busy_timeout_ms / 1000)

    @event.listens_for(engine, "begin")
    def begin(connection):
        if wants_write_lock():
            writers.enter(connection.connection.info)
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN DEFERRED")

    # Released when the connection goes back to the pool: after the COMMIT (or
    # ROLLBACK) has run. SQLAlchemy's own commit event fires before it.
    @event.listens_for(engine.pool, "checkin")
    def returned(_dbapi_connection, record):
        writers.leave(record.info)


class WriterQueue:
    """Writers of one SQLite file wait in line on an OS file lock, across processes.

    SQLite itself lets a blocked writer sleep and poll (1, 2, 5 … 100 ms); with
    several gunicorn workers that adds long tails at a busy desk. flock() wakes the
    next writer as soon as the previous one is done. Each pool connection has its
    own open file, so threads of one process queue too. The kernel drops the lock
    of a killed process. Where fcntl is missing (Windows), SQLite's own waiting stays.

    Waiting is bounded like SQLite's own busy timeout: a writer that is still queued
    then goes ahead to BEGIN IMMEDIATE, which waits out SQLite's timeout and fails
    with "database is locked" rather than hanging behind, say, an idle flask shell.
    """

    POLL_SECONDS = 0.0005

    def __init__(self, path: str | None, timeout: float = 5.0):
        self.path = path
        self.timeout = timeout

    @classmethod
    def for_database(cls, database: str | None, timeout: float) -> "WriterQueue":
        if fcntl is None or not database or database == ":memory:":
            return cls(None)
        return cls(f"{database}.writers", timeout)

    def enter(self, info: dict) -> None:
        if self.path is None or info.get("writer_lock_held"):
            return
        handle = info.get("writer_lock")
        if handle is None:
            handle = info["writer_lock"] = open(self.path, "a+b")  # noqa: SIM115
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(self.POLL_SECONDS)
            else:
                info["writer_lock_held"] = True
                return

    def leave(self, info: dict) -> None:
        if info.pop("writer_lock_held", False):
            fcntl.flock(info["writer_lock"].fileno(), fcntl.LOCK_UN)


def init_database(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def writes_data(view):
    """Mark a GET view that writes (e.g. an audit row) so SQLite locks up front."""
    view.writes_data = True
    return view


def is_postgresql() -> bool:
    return has_app_context() and db.engine.dialect.name == "postgresql"


def upsert_insert(table):
    """An INSERT that can say ON CONFLICT: the dialect's own construct."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
