"""Upgrading an installation from any earlier revision keeps every row and link.

One database per backend climbs the revisions one by one. At each revision it
receives rows valid there (read from that migration: Likers with rare kanji,
events and attendance, issuances, print jobs, merges, sessions, registrations,
corrections…); every upgrade step must then keep every value already stored, and
at the head the derived columns (0009's first participation and first issues,
0011's backfilled consents, 0012's audit chain) must be right and the app must
find and read the Likers through its own query functions. An installation that
stopped at revision N is exactly this database at step N.
"""

import os
from datetime import date, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from crm import create_app
from crm.japanese import email_key, kana_key, name_key, phone_key
from tests.conftest import fresh_postgresql_database

TS = "2024-04-01 09:00:00"
# 渚 is U+FA46 (NFC would turn it into U+6E1A), 𠮷 is outside the BMP, and 葛󠄀
# carries an ideographic variation selector: all must come back unchanged.
NAGISA = "\ufa46"
KATSURAGI = "葛\U000e0100城"


def _liker(id_, family, given, family_kana, given_kana, **extra) -> dict:
    row = {
        "id": id_,
        "registration_number": f"YL-{id_:05d}",
        "family_name": family,
        "given_name": given,
        "family_name_kana": family_kana,
        "given_name_kana": given_kana,
        "residence": "in_town",
        "registered_on": "2024-04-01",
        "status": "active",
        "news_opt_in": False,
        "name_key": name_key(family, given),
        "given_name_key": name_key(given),
        "kana_key": kana_key(family_kana, given_kana),
        "given_kana_key": kana_key(given_kana),
        "created_at": TS,
        "updated_at": TS,
    }
    row.update(extra)
    if row.get("email"):
        row["email_key"] = email_key(row["email"])
    if row.get("phone"):
        row["phone_key"] = phone_key(row["phone"])
    return row


def _token(id_: int) -> str:
    return f"upgrade-token-{id_:08d}-abcdef"


# Rows inserted once the database stands at that revision (valid there).
ROWS = {
    "0001": [
        ("users", [{"id": 1, "email": "staff@example.jp", "name": "職員 一",
                    "password_hash": "x", "role": "staff", "active": True,
                    "created_at": TS}]),
        ("categories", [{"id": 1, "name": "出身者", "position": 1, "active": True},
                        {"id": 2, "name": "ふるさと納税者", "position": 2,
                         "active": True}]),
        ("channels", [{"id": 1, "name": "イベント会場", "position": 1,
                       "active": True}]),
        ("tags", [{"id": 1, "name": "写真展"}, {"id": 2, "name": "炭鉱遺産"}]),
        ("counters", [{"name": "supporter_number", "value": 3}]),
        ("town_settings", [{"id": 1, "municipality_name": "夕張市",
                            "local_government_code": "012092",
                            "prefecture": "北海道", "programme_name": "夕張Likers!",
                            "supporter_word": "Likers", "mayor_title": "夕張市長",
                            "mayor_name": "", "number_prefix": "YL-",
                            "number_digits": 5, "privacy_policy_version": "1.0",
                            "updated_at": TS}]),
        ("supporters", [
            _liker(1, "髙橋", "﨑子", "タカハシ", "サキコ", news_opt_in=True,
                   privacy_policy_version="1.0",
                   privacy_consented_at="2024-04-01 10:00:00",
                   email="Saki@Example.jp", phone="090-1111-2222", channel_id=1,
                   created_by_id=1),
            _liker(2, "𠮷田", NAGISA, "ヨシダ", "ナギサ", status="withdrawn",
                   withdrawn_on="2024-09-30", residence="outside_prefecture"),
            _liker(3, KATSURAGI, "一", "カツラギ", "ハジメ", residence="overseas"),
        ]),
        ("supporter_categories", [{"supporter_id": 1, "category_id": 1},
                                  {"supporter_id": 1, "category_id": 2},
                                  {"supporter_id": 2, "category_id": 1},
                                  {"supporter_id": 3, "category_id": 2}]),
        ("supporter_tags", [{"supporter_id": 1, "tag_id": 1},
                            {"supporter_id": 3, "tag_id": 2}]),
        ("audit_entries", [
            {"id": i, "at": f"2024-04-01 09:0{i}:00", "user_id": 1,
             "action": "create", "object_type": "supporter", "object_id": i,
             "details": None, "ip_address": "192.0.2.1"}
            for i in (1, 2, 3)
        ]),
    ],
    "0002": [
        ("themes", [{"id": 1, "name": "歴史・文化の継承", "position": 1,
                     "active": True}]),
        ("partners", [{"id": 1, "name": "夕張観光協会", "kind": "association",
                       "created_at": TS}]),
        ("societies", [{"id": 1, "name": "東京夕張会", "region": "東京",
                        "created_at": TS}]),
        ("events", [{"id": 1, "title": "炭鉱遺産ツアー", "theme_id": 1,
                     "kind": "tour", "place": "石炭博物館", "location": "in_town",
                     "status": "held", "first_day": "2024-05-03",
                     "created_at": TS, "updated_at": TS, "created_by_id": 1}]),
        # Day ids not in date order: the first day is the second row.
        ("event_days", [{"id": 1, "event_id": 1, "day": "2024-05-04"},
                        {"id": 2, "event_id": 1, "day": "2024-05-03"}]),
        ("event_partners", [{"event_id": 1, "partner_id": 1}]),
        ("supporters", [_liker(4, "夕張", "太郎", "ユウバリ", "タロウ",
                               public_token=_token(4), referral_society_id=1,
                               residence="in_prefecture")]),
        ("society_memberships", [{"society_id": 1, "supporter_id": 1,
                                  "role": "officer", "since": "2024-01-01",
                                  "created_at": TS}]),
        ("attendances", [
            {"id": 1, "event_day_id": 1, "supporter_id": 1, "role": "participant",
             "checked_in_at": "2024-05-04 10:00:00", "method": "scan"},
            {"id": 2, "event_day_id": 2, "supporter_id": 1, "role": "volunteer",
             "checked_in_at": "2024-05-03 10:00:00", "method": "number"},
            {"id": 3, "event_day_id": 1, "supporter_id": 4, "role": "participant",
             "checked_in_at": "2024-05-04 11:00:00", "method": "manual"},
        ]),
        ("guests", [{"id": 1, "event_day_id": 1, "group": "visitor",
                     "name": "見学 花子", "created_at": TS}]),
        ("walk_in_counts", [{"event_day_id": 1, "group": "citizen", "count": 5}]),
    ],
    "0003": [
        ("supporters", [_liker(5, "齋藤", "湊", "サイトウ", "ミナト",
                               public_token=_token(5), show_name_publicly=True)]),
    ],
    "0004": [
        ("issuances", [
            {"id": 1, "supporter_id": 1, "kind": "card",
             "issued_at": "2024-06-01 10:00:00", "issued_by_id": 1,
             "reissue": True},
            {"id": 2, "supporter_id": 1, "kind": "card",
             "issued_at": "2024-05-01 10:00:00", "issued_by_id": 1,
             "reissue": False},
            {"id": 3, "supporter_id": 2, "kind": "certificate",
             "issued_at": "2024-07-01 10:00:00", "reissue": False},
        ]),
    ],
    "0006": [
        ("qr_codes", [{"data": "http://127.0.0.1:5000/v/x", "side": 21,
                       "modules": b"\x00\xff"}]),
        ("document_images", [{"kind": "seal", "content": b"\x89PNG", "width": 10,
                              "height": 10, "uploaded_at": TS}]),
        ("print_jobs", [{"id": 1, "public_id": "job-1", "kind": "card",
                         "layout": "a4-10", "options": "{}",
                         "supporter_ids": "[1, 3]", "record_issue": True,
                         "state": "done", "done": 2, "total": 2,
                         "created_at": TS}]),
    ],
    "0007": [
        ("supporters", [_liker(6, "高橋", "咲子", "タカハシ", "サキコ",
                               public_token=_token(6), status="merged",
                               merged_into_id=1)]),
        ("import_uploads", [{"id": 1, "public_id": "upload-1", "kind": "supporters",
                             "file_name": "名簿.csv", "content": b"a,b\n",
                             "encoding": "cp932", "mapping": "{}",
                             "decisions": "{}", "state": "done",
                             "created_at": TS}]),
    ],
    # From 0009 on, triggers keep the derived columns of new rows.
    "0009": [
        ("attendances", [{"id": 4, "event_day_id": 2, "supporter_id": 4,
                          "role": "participant",
                          "checked_in_at": "2024-05-03 11:00:00",
                          "method": "scan"}]),
        ("issuances", [{"id": 4, "supporter_id": 4, "kind": "card",
                        "issued_at": "2024-08-01 10:00:00", "reissue": False}]),
    ],
    "0010": [
        ("user_sessions", [{"id": "s" * 64, "user_id": 1, "created_at": TS}]),
        ("sign_in_throttles", [{"key": "account:staff@example.jp", "failures": 2,
                                "last_failure_at": TS}]),
    ],
    "0011": [
        ("supporters", [_liker(7, "渡邊", "凛", "ワタナベ", "リン",
                               public_token=_token(7), status="pending",
                               introduced_by_id=1)]),
        ("registrations", [{"id": 1, "supporter_id": 7, "submission_key": "a" * 64,
                            "identity_key": "b" * 64,
                            "submitted_at": "2024-10-01 10:00:00", "event_id": 1,
                            "event_day_id": 1, "outcome": "pending"}]),
        ("consent_records", [{"supporter_id": 7, "kind": "privacy_notice",
                              "granted": True, "notice_version": "1.0",
                              "channel": "public",
                              "recorded_at": "2024-10-01 10:00:00"}]),
        ("event_registration_links", [{"id": 1, "event_id": 1, "token": "l" * 30,
                                       "created_at": TS}]),
    ],
    "0012": [
        ("supporters", [_liker(8, "濱田", "進", "ハマダ", "ススム",
                               public_token=_token(8), status="stopped",
                               use_stopped_at="2024-11-01 10:00:00")]),
        ("supporter_corrections", [{"id": 1, "supporter_id": 1,
                                    "field": "phone", "old_value": "090",
                                    "new_value": "090-1111-2222",
                                    "corrected_at": TS, "values_erased": False}]),
    ],
}  # fmt: skip


def _database_url(tmp_path, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/upgrade.sqlite3"
    if not os.environ.get("CRM_TEST_DATABASE_URL"):
        pytest.skip("no PostgreSQL URL given (CRM_TEST_DATABASE_URL)")
    return fresh_postgresql_database("crm_upgrade_test")


def _revisions(app) -> list[str]:
    """Every revision from the first to the head, in order."""
    script = ScriptDirectory(app.extensions["migrate"].directory)
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _insert(connection, table: str, rows: list[dict]) -> None:
    for row in rows:
        columns = ", ".join(f'"{c}"' for c in row)
        values = ", ".join(f":{c}" for c in row)
        connection.execute(
            text(f'INSERT INTO "{table}" ({columns}) VALUES ({values})'), row
        )


def _snapshot(connection) -> dict[str, dict]:
    """Every stored value of every table: {table: {column: sorted values…}}."""
    tables = {}
    for table in inspect(connection).get_table_names():
        if table == "alembic_version":
            continue
        columns = [c["name"] for c in inspect(connection).get_columns(table)]
        selected = ", ".join(f'"{c}"' for c in columns)
        rows = connection.execute(text(f'SELECT {selected} FROM "{table}"')).all()
        tables[table] = {"columns": columns, "rows": rows}
    return tables


def _still_there(before: dict, connection) -> list[str]:
    """What an upgrade step lost or changed of the values stored before it."""
    problems = []
    for table, old in before.items():
        if not inspect(connection).has_table(table):
            problems.append(f"table {table} is gone")
            continue
        selected = ", ".join(f'"{c}"' for c in old["columns"])
        rows = connection.execute(text(f'SELECT {selected} FROM "{table}"')).all()
        if sorted(map(repr, rows)) != sorted(map(repr, old["rows"])):
            problems.append(f"{table}: {old['rows']} became {rows}")
    return problems


def _as_date(value) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value is not None else None


def _as_datetime(value) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value is not None else None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrading_from_every_revision_keeps_rows_links_and_derived_columns(
    tmp_path, backend
):
    url = _database_url(tmp_path, backend)
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": url})
    from flask_migrate import upgrade

    from crm.extensions import db

    with app.app_context():
        revisions = _revisions(app)
        assert revisions[0] == "0001" and set(ROWS) <= set(revisions[:-1])
        for revision, following in zip(revisions, revisions[1:], strict=False):
            upgrade(revision=revision)
            with db.engine.begin() as connection:
                for table, rows in ROWS.get(revision, []):
                    _insert(connection, table, rows)
            with db.engine.connect() as connection:
                before = _snapshot(connection)
            upgrade(revision=following)
            with db.engine.connect() as connection:
                lost = _still_there(before, connection)
            assert not lost, f"upgrading {revision} → {following}: {lost}"
        _check_derived_columns(db)
        _check_the_app_reads_likers()
        db.session.remove()
        db.engine.dispose()


def _check_derived_columns(db) -> None:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, family_name, given_name, public_token,"
                " first_participated_on, card_issued_at, certificate_issued_at"
                " FROM supporters ORDER BY id"
            )
        ).all()
        consents = connection.execute(
            text("SELECT supporter_id, kind, granted, channel FROM consent_records")
        ).all()
        pending_public = connection.execute(
            text("SELECT count(*) FROM consent_records WHERE supporter_id = 7")
        ).scalar()
    liker = {row.id: row for row in rows}
    # Names come back exactly as typed, rare characters and all.
    assert [(r.family_name, r.given_name) for r in rows[:3]] == [
        ("髙橋", "﨑子"),
        ("𠮷田", NAGISA),
        (KATSURAGI, "一"),
    ]
    # 0002 gave the Likers of 0001 tokens of their own.
    tokens = [r.public_token for r in rows]
    assert len(set(tokens)) == len(tokens) and all(len(t) >= 20 for t in tokens)
    # 0009 computed the first day from attendance stored before it (the earlier
    # day, though recorded second), and its triggers kept it for later check-ins.
    assert _as_date(liker[1].first_participated_on) == date(2024, 5, 3)
    assert _as_date(liker[4].first_participated_on) == date(2024, 5, 3)
    assert liker[2].first_participated_on is None
    assert _as_datetime(liker[1].card_issued_at) == datetime(2024, 5, 1, 10)
    assert _as_datetime(liker[2].certificate_issued_at) == datetime(2024, 7, 1, 10)
    assert _as_datetime(liker[4].card_issued_at) == datetime(2024, 8, 1, 10)
    assert liker[3].card_issued_at is None
    # 0011 wrote the consents the registry held as consent records, by staff;
    # the public registration's own record stayed alone.
    backfilled = sorted(
        (c.supporter_id, c.kind) for c in consents if c.channel == "staff"
    )
    assert backfilled == [(1, "news"), (1, "privacy_notice"), (5, "public_name")]
    assert all(c.granted for c in consents) and pending_public == 1


def _check_the_app_reads_likers() -> None:
    from crm.audit.queries import verify_chain
    from crm.events.queries import find_by_code, supporter_participations
    from crm.supporters.queries import (
        SupporterFilter,
        get_supporter_or_404,
        list_supporters,
    )

    with create_app_request():
        # 0012 chained the audit entries written before the chain existed.
        chain = verify_chain()
        assert chain.ok and chain.rows >= 3
        first = get_supporter_or_404(1)
        assert [c.name for c in first.categories] == ["出身者", "ふるさと納税者"]
        assert [t.name for t in first.tags] == ["写真展"]
        assert [p.day for p in supporter_participations(1)] == [
            date(2024, 5, 4),
            date(2024, 5, 3),
        ]

        def found(**filters) -> list[int]:
            page = list_supporters(SupporterFilter(**filters), 1, 50)
            return [s.id for s in page.items]

        # The variant kanji finds its everyday form and back; kana and email too.
        assert found(q="高橋") == [1]
        assert found(q="たかはし") == [1]
        assert found(q="saki@example") == [1]
        assert found(q="よしだ", status="all") == [2]
        assert found(q="葛城") == [3]
        # A merged-away Liker's QR code leads to the record it was merged into.
        assert find_by_code(_token(6)).supporter.id == 1


def create_app_request():
    from flask import current_app

    return current_app.test_request_context("/likers/")
