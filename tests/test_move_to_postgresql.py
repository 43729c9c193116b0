"""Moving a SQLite installation to PostgreSQL: every table equal, proven by checksums."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select, text

from crm.extensions import db
from crm.operations.tables import (
    compare,
    comparison_lines,
    normalised,
    row_digest,
    table_sums,
)
from crm.setup_data import seed_reference_data
from crm.supporters.models import Supporter
from tests.conftest import drop_postgresql_database, fresh_postgresql_database
from tests.factories import make_supporter
from tests.test_backup_restore import (
    assert_restored_intact,
    likers_in,
    make_app,
    migrate,
    needs_postgresql,
    populate,
    run,
)

TARGET = "crm_move_test_target"


def test_values_read_from_sqlite_and_postgresql_checksum_alike():
    # What pysqlite and psycopg hand back for the same stored value.
    jst = timezone(timedelta(hours=9))
    assert row_digest([True, datetime(2025, 4, 1, 9, 0, tzinfo=jst)]) == row_digest(
        [1, datetime(2025, 4, 1, 0, 0)]
    )
    assert normalised(memoryview(b"\x00seal")) == normalised(b"\x00seal")
    assert normalised(Decimal("1.50")) == normalised(Decimal("1.5"))
    assert normalised({"b": 1, "a": [1, 2]}) == normalised({"a": [1, 2], "b": 1})
    assert normalised(date(2025, 4, 1)) == "2025-04-01"
    # …and what must not collide.
    assert row_digest([None]) != row_digest([""])
    assert row_digest(["1"]) != row_digest([1])
    assert row_digest(["𠮷田"]) != row_digest(["吉田"])


@pytest.fixture
def moved(tmp_path):
    """A SQLite installation in use, moved with the command into an empty PostgreSQL."""
    source = make_app(f"sqlite:///{tmp_path}/crm.sqlite3")
    migrate(source)
    facts = populate(source, likers=150)
    target_url = fresh_postgresql_database(TARGET)
    result = run(source, "move-to-postgresql", "--to", target_url)
    target = make_app(target_url)
    yield source, target, facts, result
    for app in (source, target):
        with app.app_context():
            db.engine.dispose()
    drop_postgresql_database(TARGET)


@needs_postgresql
def test_moving_to_postgresql_copies_every_table_exactly(moved):
    source, target, facts, result = moved

    assert result.exit_code == 0, result.output + result.stderr
    assert "every table matches" in result.output
    assert "MISMATCH" not in result.output
    assert "Audit log: OK" in result.output
    assert likers_in(target) == likers_in(source)
    assert_restored_intact(target, facts["rare_id"])  # names, seal, issues, audit chain
    with source.app_context():
        source_first_days = dict(
            db.session.execute(
                select(Supporter.id, Supporter.first_participated_on)
            ).all()
        )
    with target.app_context():
        assert (
            dict(
                db.session.execute(
                    select(Supporter.id, Supporter.first_participated_on)
                ).all()
            )
            == source_first_days
        )
        # The sequences were set past the copied ids: new rows get new ones.
        newcomer = make_supporter(family_name="移行後")
        db.session.commit()
        assert newcomer.id == max(source_first_days) + 1
        db.session.remove()

    again = run(source, "move-to-postgresql", "--to", target.config["DATABASE_URL"])
    assert again.exit_code == 1
    assert "the PostgreSQL database already holds" in again.stderr


@needs_postgresql
def test_a_row_changed_after_the_copy_is_caught_by_the_comparison(moved):
    source, target, _facts, result = moved
    assert result.exit_code == 0, result.output + result.stderr
    source_engine = create_engine(source.config["SQLALCHEMY_DATABASE_URI"])
    target_engine = create_engine(target.config["SQLALCHEMY_DATABASE_URI"])
    with target_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE supporters SET given_name = 'X' WHERE id = (SELECT min(id) FROM supporters)"
            )
        )
        connection.execute(
            text(
                "DELETE FROM supporter_categories WHERE supporter_id = (SELECT max(supporter_id) FROM supporter_categories)"
            )
        )
    with source_engine.connect() as left, target_engine.connect() as right:
        comparisons = compare(table_sums(left), table_sums(right))
    source_engine.dispose()
    target_engine.dispose()

    wrong = {c.name for c in comparisons if not c.ok}
    assert wrong == {"supporters", "supporter_categories"}
    lines = "\n".join(comparison_lines(comparisons, "SQLite", "PostgreSQL"))
    assert "MISMATCH (same count, different content)" in lines


@needs_postgresql
def test_a_sqlite_backup_restores_onto_postgresql(tmp_path):
    source = make_app(f"sqlite:///{tmp_path}/crm.sqlite3")
    migrate(source)
    facts = populate(source, likers=20)
    file = tmp_path / "likers.tar.gz"
    assert run(source, "backup", "-o", str(file)).exit_code == 0
    target = make_app(fresh_postgresql_database(TARGET))
    try:
        migrate(target)  # as setup leaves it, without the admin: lists only
        with target.app_context():
            seed_reference_data()
            db.session.commit()
        restored = run(target, "restore", str(file))
        assert restored.exit_code == 0, restored.output + restored.stderr
        assert "copied into PostgreSQL table by table" in restored.output
        assert "All tables match the backup" in restored.output
        with target.app_context():
            assert db.session.scalar(select(func.count(Supporter.id))) == likers_in(
                source
            )
            db.session.remove()
        assert_restored_intact(target, facts["rare_id"])
    finally:
        for app in (source, target):
            with app.app_context():
                db.engine.dispose()
        drop_postgresql_database(TARGET)
