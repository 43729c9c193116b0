"""The audit log holds (T18): append-only in the app and in the database, every
row chained by SHA-256 to the one before, a verify command that finds the first
tampered row, no personal data in it, an admin screen to filter it, and the
Likers a past export held, reconstructed for a leak report."""

import os
import threading

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from crm.audit.chain import GENESIS, entry_hash
from crm.audit.guards import create_statements
from crm.audit.models import AuditEntry, AuditLogIsAppendOnly
from crm.audit.queries import verify_chain
from crm.audit.services import record_event
from crm.extensions import db
from tests.conftest import fresh_postgresql_database
from tests.factories import make_supporter


def _entries(count: int = 5) -> list[int]:
    for n in range(count):
        record_event("view", "supporter", n + 1, {"n": n, "text": "日本語"})
    db.session.commit()
    ids = list(db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    db.session.rollback()  # no transaction left open (PostgreSQL: no lock held)
    return ids


def _lift_triggers(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_entries DISABLE TRIGGER USER")
    else:
        connection.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
        connection.exec_driver_sql("DROP TRIGGER audit_entries_no_delete")


def _restore_triggers(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_entries ENABLE TRIGGER USER")
    else:
        for statement in create_statements("sqlite"):
            connection.exec_driver_sql(statement)


@pytest.fixture
def tamper(app):
    """tamper(sql, **params): run SQL on audit_entries with the triggers lifted."""

    def run(sql: str, **params) -> None:
        db.session.rollback()  # no snapshot from before the change
        with db.engine.begin() as connection:
            _lift_triggers(connection)
            connection.execute(text(sql), params)
            _restore_triggers(connection)

    return run


def test_each_row_is_chained_to_the_one_before(ctx):
    ids = _entries(4)
    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert rows[0].prev_hash == GENESIS
    for before, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == before.hash
    assert len({row.hash for row in rows}) == 4
    assert verify_chain().ok and verify_chain().rows == len(ids)


def test_rows_added_in_one_flush_chain_in_order(ctx):
    for n in range(3):
        record_event("view", "supporter", n)
    db.session.flush()
    db.session.commit()
    assert verify_chain().ok


def test_the_app_cannot_change_or_delete_an_audit_row(ctx):
    entry_id = _entries(2)[0]
    entry = db.session.get(AuditEntry, entry_id)
    entry.action = "nothing"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry_id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.execute(update(AuditEntry).values(action="x"))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.execute(AuditEntry.__table__.delete())
    db.session.rollback()
    assert db.session.get(AuditEntry, entry_id).action == "view"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entries SET action = 'x'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
    ],
)
def test_the_database_refuses_update_and_delete_to_anyone(app, ctx, sql):
    _entries(2)
    if sql.startswith("TRUNCATE") and db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with db.engine.connect() as connection, pytest.raises(DatabaseError) as error:
        connection.execute(text(sql))
    assert "append-only" in str(error.value)
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == 2


def test_verify_finds_a_changed_row(app, ctx, tamper):
    ids = _entries(5)
    tamper("UPDATE audit_entries SET object_id = 99 WHERE id = :id", id=ids[2])
    check = verify_chain()
    assert not check.ok and check.broken_id == ids[2] and check.reason == "hash"
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at audit entry {ids[2]}" in result.output


def test_verify_finds_a_removed_row(app, ctx, tamper):
    ids = _entries(5)
    tamper("DELETE FROM audit_entries WHERE id = :id", id=ids[1])
    check = verify_chain()
    assert check.broken_id == ids[2] and check.reason == "prev_hash"


def test_rehashing_a_changed_row_still_breaks_the_chain_at_the_next(app, ctx, tamper):
    ids = _entries(5)
    row = dict(
        db.session.execute(select(AuditEntry.__table__).where(AuditEntry.id == ids[3]))
        .mappings()
        .one()
    )
    forged = {**row, "object_id": 12345}
    tamper(
        "UPDATE audit_entries SET object_id = 12345, hash = :digest WHERE id = :id",
        id=ids[3],
        digest=entry_hash(row["prev_hash"], forged),
    )
    assert verify_chain().broken_id == ids[4]


def test_verify_says_ok_on_an_intact_log(app, ctx):
    _entries(3)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 3 audit entries")


def test_concurrent_writers_keep_one_chain(app):
    """Two writers at once: on PostgreSQL the advisory lock serialises them, on
    SQLite the single writer does; either way no two rows share a parent."""
    errors = []

    def writer(offset: int) -> None:
        try:
            with app.app_context():
                for n in range(15):
                    record_event("view", "supporter", offset + n)
                    db.session.commit()
                db.session.remove()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(k * 100,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with app.app_context():
        parents = list(db.session.scalars(select(AuditEntry.prev_hash)))
        assert len(parents) == 45 and len(set(parents)) == 45
        assert verify_chain().ok


CANARIES = (
    "鍵屋𠮷郎",
    "カギヤキチロウ",
    "canary@example.jp",
    "0901234999",
    "秘密町9-9",
)


def test_no_personal_data_reaches_the_audit_log(app, signed_in):
    staff = signed_in("staff")
    form = {
        "family_name": "鍵屋", "given_name": "𠮷郎", "family_name_kana": "カギヤ",
        "given_name_kana": "キチロウ", "email": "canary@example.jp",
        "phone": "0901234999", "prefecture": "北海道", "municipality": "夕張市",
        "address": "秘密町9-9", "notes": "鍵屋𠮷郎のメモ", "privacy_consent": "y",
        "registered_on": "2025-06-01", "channel_id": "0",
    }  # fmt: skip
    response = staff.post_form("/likers/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    liker_url = response.headers["Location"]
    staff.get(liker_url)
    staff.get("/likers/?q=カギヤキチロウ")
    staff.get("/likers/?q=canary@example.jp")
    staff.post_form(liker_url + "/edit", {**form, "email": "canary2@example.jp"},
                    token_from=liker_url + "/edit")  # fmt: skip
    exported = staff.post_form(
        "/exports/likers", {"query": "q=鍵屋", "format": "csv", "columns": ["name"]},
        token_from="/exports/likers",
    )  # fmt: skip
    assert "鍵屋" in exported.get_data(as_text=True)  # streamed to the end
    staff.post_form(liker_url + "/withdraw", {"withdrawn_on": "2026-01-05",
                    "reason": "鍵屋𠮷郎 moved away"})  # fmt: skip
    with app.app_context():
        rows = db.session.execute(select(AuditEntry.__table__)).mappings().all()
        assert {"create", "view", "update", "export", "withdraw"} <= {
            r["action"] for r in rows
        }
        dumped = repr([dict(r) for r in rows])
        for canary in (*CANARIES, "canary2@example.jp", "鍵屋"):
            assert canary not in dumped


def test_the_audit_screen_filters_by_user_action_record_and_date(app, users, signed_in):
    with app.test_request_context():
        from crm.auth.models import User

        staff, admin = (db.session.get(User, users[r]) for r in ("staff", "admin"))
        record_event("view", "supporter", 7, user=staff)
        record_event("update", "supporter", 7, {"fields": ["email"]}, user=staff)
        record_event("view", "supporter", 8, user=admin)
        db.session.commit()
    page = signed_in("admin")
    html = page.get(f"/admin/audit/?user={users['staff']}&action=view").get_data(
        as_text=True
    )
    table = html[html.index('id="audit-entries"') :]
    assert table.count("<tr>") == 2  # the header and the one view by staff
    assert "登録者 #7" in table and "登録者 #8" not in table
    html = page.get("/admin/audit/?object_type=supporter&object_id=8").get_data(
        as_text=True
    )
    table = html[html.index('id="audit-entries"') :]
    assert "登録者 #8" in table and "登録者 #7" not in table
    html = page.get("/admin/audit/?from=2000-01-01&to=2000-12-31").get_data(
        as_text=True
    )
    assert "登録者 #" not in html[html.index('id="audit-entries"') :]
    html = page.get("/admin/audit/?verify=1").get_data(as_text=True)
    assert 'id="chain-ok"' in html


def test_a_past_exports_likers_are_reconstructed_from_its_audit_row(app, signed_in):
    with app.test_request_context():
        kept = [make_supporter(family_name=f"輸出{n}") for n in range(4)]
        make_supporter(family_name="退会者").status = "withdrawn"
        db.session.commit()
        numbers = sorted(s.registration_number for s in kept)
    staff = signed_in("staff")
    response = staff.post_form(
        "/exports/likers", {"query": "", "format": "csv", "columns": ["number"]},
        token_from="/exports/likers",
    )  # fmt: skip
    assert len(response.get_data(as_text=True).split()) == 5  # header + 4
    with app.app_context():
        entry_id = db.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "export")
        )
        # A Liker registered after the export is not in the list.
        make_supporter(family_name="後から")
        db.session.commit()
    admin = signed_in("admin")
    html = admin.get(f"/admin/audit/{entry_id}/contents").get_data(as_text=True)
    assert all(number in html for number in numbers) and "4" in html
    csv_text = admin.get(f"/admin/audit/{entry_id}/contents?format=csv").get_data(
        as_text=True
    )
    assert sorted(line.split(",")[1] for line in csv_text.split()[1:]) == numbers
    result = app.test_cli_runner().invoke(args=["audit", "contents", str(entry_id)])
    assert result.exit_code == 0, result.output
    assert sorted(line.split(",")[1] for line in result.output.split()[1:]) == numbers
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action)))
        assert actions.count("reconstruct") == 3
    assert staff.get(f"/admin/audit/{entry_id}/contents").status_code == 403


def _fresh_database(tmp_path, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/chain-upgrade.sqlite3"
    if not os.environ.get("CRM_TEST_DATABASE_URL"):
        pytest.skip("no PostgreSQL URL given (CRM_TEST_DATABASE_URL)")
    return fresh_postgresql_database("crm_audit_chain_test")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_chains_the_rows_already_logged_and_guards_them(tmp_path, backend):
    from flask_migrate import upgrade

    from crm import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40,
                      "DATABASE_URL": _fresh_database(tmp_path, backend)})  # fmt: skip
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO audit_entries (at, action, object_type, object_id, details)"
                " VALUES ('2025-01-01 10:00:00.123456', 'view', 'supporter', 1,"
                " '{\"fields\": [\"email\"], \"n\": 1}'),"
                " ('2025-01-02 10:00:00', 'export', 'supporters', NULL, NULL)"
            ))  # fmt: skip
        upgrade()
        check = verify_chain()
        record_event("view", "supporter", 3)
        db.session.commit()
        after = verify_chain()
        with db.engine.connect() as connection, pytest.raises(DatabaseError):
            connection.execute(text("DELETE FROM audit_entries"))
        db.session.remove()
        db.engine.dispose()
    assert check.ok and check.rows == 2
    assert after.ok and after.rows == 3
