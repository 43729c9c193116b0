import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from crm import create_app
from crm.extensions import db


def test_the_app_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="No secret key is set"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})


@pytest.mark.parametrize("weak", ["dev", "changeme", "short-key-123"])
def test_the_app_refuses_a_weak_secret_key(tmp_path, weak):
    with pytest.raises(RuntimeError, match="too weak"):
        create_app(
            {"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": weak}
        )


def test_configuration_comes_from_crm_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite3")
    monkeypatch.setenv("CRM_PUBLIC_BASE_URL", "https://likers.town.example.jp")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite3")
    assert app.config["PUBLIC_BASE_URL"] == "https://likers.town.example.jp"


def test_sqlite_connections_are_durable_and_wait_for_locks(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas")
        with db.engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 5000


def test_writes_take_the_sqlite_write_lock_up_front(app):
    """A second writer waits (busy_timeout) instead of failing mid-transaction."""
    import sqlite3

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite locking")
        with db.engine.connect() as first:
            first.execute(text("SELECT 1"))  # outside a request: BEGIN IMMEDIATE
            other = sqlite3.connect(
                db.engine.url.database, timeout=0.05, isolation_level=None
            )
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()


def test_migrations_and_models_agree(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_page_views_read_without_queueing_for_the_write_lock(app):
    from flask import g

    from crm.database import wants_write_lock

    with app.test_request_context("/likers/", method="GET"):
        g.writes_data = False
        assert not wants_write_lock()
    with app.test_request_context("/likers/new", method="POST"):
        assert wants_write_lock()


def test_sqlite_writers_queue_but_never_wait_forever(tmp_path):
    """Writers line up on a file lock; one stuck writer cannot hang the others."""
    import fcntl
    import time

    from crm.database import WriterQueue

    queue = WriterQueue.for_database(str(tmp_path / "crm.sqlite3"), timeout=0.2)
    first, second = {}, {}
    queue.enter(first)
    assert first["writer_lock_held"]
    started = time.monotonic()
    queue.enter(second)  # gives up after the timeout and lets SQLite decide
    assert 0.2 <= time.monotonic() - started < 1.0
    assert "writer_lock_held" not in second
    queue.leave(first)
    queue.enter(second)
    assert second["writer_lock_held"]
    # The lock is an OS lock on the file next to the database.
    with open(tmp_path / "crm.sqlite3.writers", "a+b") as other:
        try:
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            raise AssertionError("the file was not locked")
        except BlockingIOError:
            pass
    queue.leave(second)


def test_the_write_lock_is_released_only_after_the_commit(app):
    """Released when the connection returns to the pool, after COMMIT has run."""
    with app.test_request_context(method="POST"):
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the writer queue is for SQLite")
        connection = db.session.connection()
        info = connection.connection.info
        assert info.get("writer_lock_held")
        db.session.commit()
        assert not info.get("writer_lock_held")
