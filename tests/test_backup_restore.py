"""Backups that restore: taken while the app writes, checked table by table on the way back."""

import os
import sqlite3
import tarfile
import threading
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from crm import create_app
from crm.audit.services import record_event
from crm.auth.services import create_user
from crm.demo import add_demo_supporters
from crm.demo_activity import add_demo_activity
from crm.documents.models import DocumentImage
from crm.documents.services import record_issues
from crm.extensions import db
from crm.operations import backup
from crm.setup_data import seed_reference_data
from crm.supporters.models import Supporter
from tests.conftest import drop_postgresql_database, fresh_postgresql_database
from tests.factories import make_supporter

SECRET = "backup-test-secret-key-long-enough-0123456789"
# A seal as uploaded: arbitrary bytes, NULs and high bytes included.
SEAL = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8 + b"\x00seal-end"
RARE_FAMILY_NAME, RARE_GIVEN_NAME = "𠮷田", "髙﨑"


def make_app(url: str):
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")), exist_ok=True)
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": url,
            "PUBLIC_BASE_URL": "https://likers.example.jp",
        }
    )


def migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def populate(app, likers: int = 60) -> dict:
    """An installation in use: staff, Likers, events and attendance, issues, a seal."""
    with app.app_context():
        seed_reference_data()
        admin = create_user(
            "admin@example.jp", "管理者", "admin", "correct horse battery"
        )
        db.session.commit()
        add_demo_supporters(likers, seed=7)
        add_demo_activity(seed=7)
        rare = make_supporter(
            family_name=RARE_FAMILY_NAME,
            given_name=RARE_GIVEN_NAME,
            family_name_kana="ヨシダ",
            given_name_kana="タカサキ",
        )
        kept = make_supporter(family_name="重複", given_name="一郎")
        # Links inside one table: a merged Liker points at a later one.
        first_id = db.session.scalar(select(func.min(Supporter.id)))
        db.session.get(Supporter, first_id).merged_into_id = kept.id
        kept.introduced_by_id = rare.id
        record_issues([rare.id, kept.id], "card", user=admin)
        record_issues([rare.id], "certificate", user=admin)
        db.session.add(DocumentImage(kind="seal", content=SEAL, width=64, height=64))
        record_event("update", "document_images", None, {"kind": "seal"}, user=admin)
        db.session.commit()
        return {"rare_id": rare.id}


def likers_in(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count(Supporter.id)))
        db.session.remove()
        return count


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def assert_restored_intact(app, rare_id: int) -> None:
    with app.app_context():
        rare = db.session.get(Supporter, rare_id)
        assert (rare.family_name, rare.given_name) == (
            RARE_FAMILY_NAME,
            RARE_GIVEN_NAME,
        )
        assert (
            rare.card_issued_at is not None and rare.certificate_issued_at is not None
        )
        seal = db.session.get(DocumentImage, "seal")
        assert seal is not None and seal.content == SEAL
        db.session.remove()
    verified = run(app, "audit", "verify")
    assert verified.exit_code == 0, verified.output + verified.stderr
    assert "the chain holds" in verified.output


@pytest.fixture
def sqlite_installation(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/source/crm.sqlite3")
    migrate(app)
    facts = populate(app)
    yield app, facts
    with app.app_context():
        db.engine.dispose()


def test_a_backup_taken_while_likers_are_added_restores_the_moment_it_was_taken(
    sqlite_installation, tmp_path, monkeypatch
):
    source, facts = sqlite_installation
    config = tmp_path / "source" / "config.py"
    config.write_text(f"SECRET_KEY = {SECRET!r}\n")
    monkeypatch.setattr(backup, "instance_config_path", lambda: config)
    before = likers_in(source)
    stop = threading.Event()
    batches = []

    def keep_registering():
        with source.app_context():
            while not stop.is_set():
                add_demo_supporters(3, seed=100 + len(batches))
                batches.append(3)

    def wait_for_batches(count):
        deadline = time.monotonic() + 30
        while len(batches) < count:
            assert writer.is_alive(), "the writing thread stopped"
            assert time.monotonic() < deadline, "the writing thread is stuck"
            time.sleep(0.01)

    writer = threading.Thread(target=keep_registering)
    writer.start()
    try:
        wait_for_batches(3)
        file = tmp_path / "likers.tar.gz"
        made = run(source, "backup", "-o", str(file))
        wait_for_batches(len(batches) + 3)
    finally:
        stop.set()
        writer.join()
    assert made.exit_code == 0, made.output + made.stderr
    assert "integrity: ok" in made.output
    assert "Likers" in made.output and str(file) in made.output
    manifest = backup.read_manifest(file)
    # The backup holds a moment in the middle of the writing.
    assert before < manifest["likers"] < likers_in(source)
    assert manifest["tables"]["document_images"]["rows"] == 1
    with tarfile.open(file) as archive:  # the print-job queue (jobs.sqlite3) stays out
        assert archive.getnames() == [
            "manifest.json",
            "instance/config.py",
            "database.sqlite3",
        ]
    assert oct(file.stat().st_mode & 0o777) == "0o600"

    restored_config = tmp_path / "target" / "config.py"
    monkeypatch.setattr(backup, "instance_config_path", lambda: restored_config)
    target = make_app(f"sqlite:///{tmp_path}/target/crm.sqlite3")  # no tables yet
    restored = run(target, "restore", str(file))
    assert restored.exit_code == 0, restored.output + restored.stderr
    assert "All tables match the backup" in restored.output
    assert "MISMATCH" not in restored.output
    assert likers_in(target) == manifest["likers"]
    assert_restored_intact(target, facts["rare_id"])
    with sqlite3.connect(tmp_path / "target" / "crm.sqlite3") as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert (
        restored_config.read_text() == config.read_text()
    )  # the secret key came along
    assert oct(restored_config.stat().st_mode & 0o777) == "0o600"
    with target.app_context():
        db.engine.dispose()


def test_restore_refuses_a_database_that_already_holds_likers(
    sqlite_installation, tmp_path
):
    source, _ = sqlite_installation
    file = tmp_path / "likers.tar.gz"
    assert run(source, "backup", "-o", str(file)).exit_code == 0
    count = likers_in(source)

    refused = run(source, "restore", str(file))

    assert refused.exit_code == 1
    assert f"the database already holds {count:,} Likers" in refused.stderr
    assert "Nothing was changed" in refused.stderr
    assert likers_in(source) == count


def test_a_damaged_or_truncated_backup_is_refused_and_nothing_is_written(
    sqlite_installation, tmp_path
):
    source, _ = sqlite_installation
    file = tmp_path / "likers.tar.gz"
    assert run(source, "backup", "-o", str(file)).exit_code == 0
    whole = file.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    flipped = bytearray(whole)
    for position in range(len(whole) // 2, len(whole) // 2 + 64):
        flipped[position] ^= 0xFF
    corrupted = tmp_path / "corrupted.tar.gz"
    corrupted.write_bytes(bytes(flipped))
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("not a backup")

    target_file = tmp_path / "target" / "crm.sqlite3"
    target = make_app(f"sqlite:///{target_file}")
    for damaged in (truncated, corrupted):
        refused = run(target, "restore", str(damaged))
        assert refused.exit_code == 1
        assert "is damaged or incomplete" in refused.stderr
        assert "use another backup generation" in refused.stderr
    refused = run(target, "restore", str(not_a_backup))
    assert refused.exit_code == 1 and "restore refused" in refused.stderr
    with target.app_context():
        assert (
            db.session.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0
        )
        db.engine.dispose()
    assert not list(target_file.parent.glob(".likers-restore-*"))


def test_a_failed_backup_leaves_no_file_under_the_final_name(
    sqlite_installation, tmp_path, monkeypatch
):
    source, _ = sqlite_installation
    file = tmp_path / "backups" / "likers.tar.gz"

    def killed(*_args):
        raise KeyboardInterrupt  # as if the backup were killed while writing

    monkeypatch.setattr(backup, "_write_archive", killed)
    with source.app_context(), pytest.raises(KeyboardInterrupt):
        backup.create_backup(file)
    assert list(file.parent.iterdir()) == []


# --- PostgreSQL --------------------------------------------------------------


needs_postgresql = pytest.mark.skipif(
    not os.environ.get("CRM_TEST_DATABASE_URL"),
    reason="no PostgreSQL URL given (CRM_TEST_DATABASE_URL)",
)


@needs_postgresql
def test_postgresql_backup_restores_onto_a_set_up_but_empty_database(tmp_path):
    source = make_app(fresh_postgresql_database("crm_backup_test_source"))
    target = make_app(fresh_postgresql_database("crm_backup_test_target"))
    try:
        migrate(source)
        facts = populate(source)
        file = tmp_path / "likers-pg.tar.gz"
        made = run(source, "backup", "-o", str(file))
        assert made.exit_code == 0, made.output + made.stderr
        with tarfile.open(file) as archive:
            assert "database.pgdump" in archive.getnames()
        # The target as `flask setup` leaves it, minus the admin: lists only.
        migrate(target)
        with target.app_context():
            seed_reference_data()
            db.session.commit()

        restored = run(target, "restore", str(file))

        assert restored.exit_code == 0, restored.output + restored.stderr
        assert "All tables match the backup" in restored.output
        assert likers_in(target) == likers_in(source)
        assert_restored_intact(target, facts["rare_id"])
        with target.app_context():  # the sequences came along: a new Liker gets an id
            newcomer = make_supporter(family_name="新規")
            db.session.commit()
            assert newcomer.id > facts["rare_id"]
            db.session.remove()
        sqlite_target = make_app(f"sqlite:///{tmp_path}/crm.sqlite3")
        refused = run(sqlite_target, "restore", str(file))
        assert refused.exit_code == 1
        assert "can only be restored onto PostgreSQL" in refused.stderr
    finally:
        for app in (source, target):
            with app.app_context():
                db.engine.dispose()
        drop_postgresql_database("crm_backup_test_source")
        drop_postgresql_database("crm_backup_test_target")


def test_pg_dump_gets_the_password_from_the_environment_not_the_command_line():
    engine = create_engine(
        "postgresql+psycopg://likers:s3cret%40word@db.town.example:6543/likers?sslmode=require"
    )
    environment = backup.libpq_environment(engine)
    assert environment["PGPASSWORD"] == "s3cret@word"
    assert (environment["PGHOST"], environment["PGPORT"]) == ("db.town.example", "6543")
    assert (environment["PGUSER"], environment["PGDATABASE"]) == ("likers", "likers")
    assert environment["PGSSLMODE"] == "require"
    engine.dispose()


def test_a_backup_of_an_older_version_restores_and_says_to_upgrade(tmp_path):
    from flask_migrate import upgrade

    source = make_app(f"sqlite:///{tmp_path}/old/crm.sqlite3")
    with source.app_context():
        upgrade(revision="0012")
        db.session.execute(
            text("INSERT INTO tags (id, name) VALUES (1, '写真展'), (2, '𠮷野家')")
        )
        db.session.commit()
        db.engine.dispose()
    file = tmp_path / "old.tar.gz"
    assert run(source, "backup", "-o", str(file)).exit_code == 0
    target = make_app(f"sqlite:///{tmp_path}/new/crm.sqlite3")

    restored = run(target, "restore", str(file))

    assert restored.exit_code == 0, restored.output + restored.stderr
    assert "revision 0012" in restored.output
    assert "Next: flask --app crm db upgrade" in restored.output
    with target.app_context():
        upgrade()
        names = db.session.execute(text("SELECT name FROM tags ORDER BY id")).scalars()
        assert list(names) == ["写真展", "𠮷野家"]
        db.engine.dispose()
    assert run(target, "audit", "verify").exit_code == 0
