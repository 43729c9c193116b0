"""Database engine set-up: SQLite durability and locking, shared helpers."""

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from flask import Flask, g, has_app_context, has_request_context, request
from sqlalchemy import Connection, event, func, select
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
        info = connection.connection.info
        # What SharedSnapshot needs to know: does this transaction hold the write
        # lock, and has it written anything since it began?
        info["changes_at_begin"] = connection.connection.driver_connection.total_changes
        info["immediate"] = wants_write_lock()
        if info["immediate"]:
            writers.enter(info)
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


class SharedSnapshot:
    """One moment of the database, read by several connections at once.

    For a long read split over threads (the report): each thread's connection
    joins the snapshot before it reads, so together they see what one statement
    would. PostgreSQL: the transaction exports its snapshot and the others import
    it. SQLite (WAL): a reader's snapshot is taken at its first read; while the
    write lock is held nobody can commit, so readers that start then all see the
    same data. The lock is let go as soon as every reader has started.
    """

    isolation_level: str | None = None

    def join(self, connection: Connection) -> None:
        raise NotImplementedError

    def wait_until_joined(self, readers: int) -> None:
        """Called by the thread that opened the snapshot once the readers are started."""

    def close(self) -> None:
        """Let go of what the snapshot holds (SQLite: the write lock)."""


# The snapshot id pg_export_snapshot() returns, e.g. 00000003-0000001B-1.
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")


class _PostgreSQLSnapshot(SharedSnapshot):
    isolation_level = "REPEATABLE READ"

    def __init__(self, snapshot_id: str):
        self.snapshot_id = snapshot_id

    def join(self, connection: Connection) -> None:
        # Checked against _SNAPSHOT_ID: the statement takes no bound parameters.
        connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{self.snapshot_id}'")


class _SQLiteSnapshot(SharedSnapshot):
    def __init__(self, lock: sqlite3.Connection | None):
        self._lock = lock  # None: the session's own transaction holds the write lock
        self._joined = threading.Semaphore(0)

    def join(self, connection: Connection) -> None:
        connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
        self._joined.release()

    def wait_until_joined(self, readers: int) -> None:
        try:
            for _ in range(readers):  # bounded: a reader that fails never joins
                if not self._joined.acquire(timeout=10):
                    break
        finally:
            self.close()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()  # rolls back: the lock is let go
            self._lock = None


def shared_snapshot(lock_wait_seconds: float = 0.25) -> SharedSnapshot | None:
    """A snapshot of what this session's transaction sees, for other connections.

    None when that cannot be: the transaction has written (only it can see its
    changes), an in-memory SQLite database, or SQLite's write lock not free within
    lock_wait_seconds (a long import): then read on this one connection.
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        return None
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        if connection.execute(select(func.pg_current_xact_id_if_assigned())).scalar():
            return None
        snapshot_id = connection.execute(select(func.pg_export_snapshot())).scalar()
        if not _SNAPSHOT_ID.fullmatch(snapshot_id or ""):
            return None
        return _PostgreSQLSnapshot(snapshot_id)
    if connection.dialect.name != "sqlite":
        return None
    path = connection.engine.url.database
    info = connection.connection.info
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    if connection.connection.driver_connection.total_changes != info.get(
        "changes_at_begin"
    ):
        return None
    if info.get("immediate"):
        return _SQLiteSnapshot(None)  # nobody else can commit while we hold it
    lock = sqlite3.connect(path, timeout=lock_wait_seconds, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # database is locked
        lock.close()
        return None
    return _SQLiteSnapshot(lock)
