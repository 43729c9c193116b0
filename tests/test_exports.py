"""Exports of personal data: the Likers list (its filter) and event rosters.

CSV in UTF-8 with a BOM or in CP932, and xlsx; the columns staff choose, in their
order; formula injection neutralised in every format; characters CP932 lacks named
before anything is replaced; staff only; every export audited with the filter, the
count and the ids, committed before the file goes out.
"""

import csv
import io
import re
import sqlite3
from datetime import date, datetime, time, timedelta
from operator import itemgetter

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.engine import make_url

from crm.audit.models import AuditEntry
from crm.documents.models import Issuance
from crm.events.services import add_guest, change_role, check_in, set_walk_ins
from crm.exports.audit import count_ids, id_ranges, ids_from_ranges
from crm.exports.formats import (
    XLSX_MIMETYPE,
    UnencodableIn,
    find_unencodable,
    named_problems_summary,
    neutralise,
)
from crm.exports.likers import COLUMNS, DEFAULT_COLUMNS
from crm.exports.xlsx import xlsx_chunks
from crm.extensions import db
from crm.supporters.models import Category, Supporter
from crm.supporters.services import withdraw_supporter
from crm.timeutil import today_jst
from tests.factories import make_event, make_supporter

EXPORT = "/exports/likers"


def csv_rows(response, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode(encoding))))


def sheet_rows(response) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(response.data))
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def export(browser, query: str = "", columns=("number", "name"), **form):
    data = {"query": query, "format": "csv", "columns": list(columns), **form}
    return browser.post_form(EXPORT, data, token_from=EXPORT)


def last_export() -> AuditEntry:
    return db.session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "export")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


@pytest.fixture
def likers(app):
    """Three Likers in town, one outside the prefecture, one withdrawn; by name."""
    with app.test_request_context():
        category = db.session.scalar(select(Category).order_by(Category.position))
        made = {
            "hanako": make_supporter(
                phone="+81 90-1234-5678", email="hanako@example.jp",
                birth_date=date(1980, 4, 1), category_ids=[category.id],
            ),
            "formula": make_supporter(
                family_name="=1+1", family_name_kana="イコール", notes="@SUM(A1)"
            ),
            "rare": make_supporter(
                family_name="髙橋", given_name="﨑山①", family_name_kana="タカハシ",
                given_name_kana="サキヤマ",
            ),
            "tokyo": make_supporter(
                family_name="東京", family_name_kana="トウキョウ", prefecture="東京都",
                municipality="新宿区",
            ),
            "gone": make_supporter(family_name="退会", family_name_kana="タイカイ"),
        }  # fmt: skip
        withdraw_supporter(made["gone"], date(2025, 5, 1), None)
        db.session.commit()
        return {key: (s.id, s.registration_number) for key, s in made.items()} | {
            "category": category.id
        }


def test_columns_come_in_the_order_chosen_with_japanese_headers(likers, signed_in):
    staff = signed_in("staff")
    response = export(
        staff, "residence=in_town&sort=number",
        columns=["phone", "number", "kana", "registered_on", "birth_date", "status"],
    )  # fmt: skip
    rows = csv_rows(response)
    assert rows[0] == ["電話番号", "登録番号", "ふりがな", "登録日", "生年月日", "状態"]
    assert rows[1] == [
        "'+81 90-1234-5678", likers["hanako"][1], "ユウバリ\u3000ハナコ",
        today_jst().isoformat(), "1980-04-01", "登録中",
    ]  # fmt: skip
    assert [row[1] for row in rows[1:]] == [
        likers[key][1] for key in ("hanako", "formula", "rare")
    ]


def test_every_column_can_be_exported(app, likers, signed_in):
    with app.app_context():
        # 2025-03-31 16:30 UTC is 1 April in Japan: the day on the card.
        issued = datetime(2025, 3, 31, 16, 30)
        for at in (issued, issued + timedelta(days=30)):
            db.session.add(
                Issuance(supporter_id=likers["hanako"][0], kind="card", issued_at=at)
            )
        db.session.commit()
    keys = [column.key for column in COLUMNS]
    response = export(signed_in("staff"), "q=ユウバリ", columns=keys)
    rows = csv_rows(response)
    assert rows[0] == [column.header for column in COLUMNS] and len(rows) == 2
    cells = dict(zip(keys, rows[1], strict=True))
    assert cells["name"] == "夕張\u3000花子" and cells["family_kana"] == "ユウバリ"
    assert cells["residence"] == "市内" and cells["card_issued"] == "2025-04-01"
    assert cells["categories"] and cells["certificate_issued"] == ""
    assert cells["birth_year"] == "1980" and cells["news_opt_in"] == "いいえ"


def test_the_export_holds_exactly_the_likers_the_list_filter_finds(likers, signed_in):
    staff = signed_in("staff")
    cases = {
        "residence=outside_prefecture": ["tokyo"],
        "status=withdrawn": ["gone"],
        f"category={likers['category']}": ["hanako"],
        "q=髙橋": ["rare"],
        "status=all&residence=in_town": ["hanako", "formula", "rare", "gone"],
    }
    for query, expected in cases.items():
        page = staff.get(f"{EXPORT}?{query}&page=3").get_data(as_text=True)
        count = re.search(r'id="export-count">[^<]*?([\d,]+) 人', page).group(1)
        assert count == str(len(expected)), query
        rows = csv_rows(export(staff, query + "&page=3"))
        assert sorted(row[0] for row in rows[1:]) == sorted(
            likers[key][1] for key in expected
        ), query


def test_the_list_links_to_the_export_with_its_filter(likers, signed_in):
    page = signed_in("staff").get("/likers/?residence=in_town&sort=newest")
    assert f'href="{EXPORT}?residence=in_town&amp;sort=newest"' in page.get_data(
        as_text=True
    )
    viewer_page = signed_in("viewer").get("/likers/").get_data(as_text=True)
    assert EXPORT not in viewer_page


def test_formula_injection_is_neutralised_in_csv_and_xlsx(likers, signed_in):
    staff = signed_in("staff")
    columns = ["family_name", "phone", "notes"]
    rows = csv_rows(export(staff, "sort=number", columns=columns))
    assert ["'=1+1", "", "'@SUM(A1)"] in rows
    assert ["夕張", "'+81 90-1234-5678", ""] in rows
    response = export(staff, "sort=number", columns=columns, format="xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.data))
    cells = {
        cell.value: cell.data_type
        for row in workbook.worksheets[0].iter_rows()
        for cell in row
        if cell.value
    }
    assert cells["'=1+1"] == "s" and cells["'@SUM(A1)"] == "s"  # text, no formula
    assert cells["'+81 90-1234-5678"] == "s"
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)
    assert neutralise("\rx") == "'\rx" and neutralise("-1") == "'-1"


def test_the_workbook_has_real_dates_and_a_header_row(likers, signed_in):
    response = export(
        signed_in("staff"), "q=ユウバリ", columns=["number", "birth_date"],
        format="xlsx",
    )  # fmt: skip
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == ["登録番号", "生年月日"]
    assert sheet[1][0].font.bold and sheet.freeze_panes == "A2"
    born = sheet["B2"]
    assert born.value == datetime(1980, 4, 1) and born.number_format == "yyyy-mm-dd"


def test_utf8_csv_has_a_bom_and_is_streamed(likers, signed_in):
    response = export(signed_in("staff"))
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data


def test_cp932_holds_rare_kanji_it_has_and_round_trips(likers, signed_in):
    response = export(signed_in("staff"), "q=髙橋", format="csv-cp932")
    assert response.headers["Content-Type"] == "text/csv; charset=shift_jis"
    assert not response.data.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response, "cp932")
    assert rows == [["登録番号", "氏名"], [likers["rare"][1], "髙橋\u3000﨑山①"]]


def test_characters_cp932_lacks_are_named_then_replaced_on_request(
    app, likers, signed_in
):
    with app.test_request_context():
        yoshida = make_supporter(family_name="𠮷田", notes="𠮷日")
        number = yoshida.registration_number
        db.session.commit()
    staff = signed_in("staff")
    columns = ["number", "name", "notes"]
    warning = export(staff, "q=𠮷", columns=columns, format="csv-cp932")
    page = warning.get_data(as_text=True)
    assert warning.mimetype == "text/html"
    assert f"{number}「氏名」の𠮷" in page and f"{number}「メモ」の𠮷" in page
    assert 'value="csv"' in page and 'name="replace" value="y"' in page
    assert 'name="columns" value="notes"' in page and 'value="q=𠮷"' in page
    with app.app_context():
        assert last_export() is None  # nothing went out yet
    replaced = export(staff, "q=𠮷", columns=columns, format="csv-cp932", replace="y")
    assert csv_rows(replaced, "cp932")[1] == [number, "〓田\u3000花子", "〓日"]
    utf8 = export(staff, "q=𠮷", columns=columns)
    assert csv_rows(utf8)[1] == [number, "𠮷田\u3000花子", "𠮷日"]
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export")
        ).all()
        assert [e.details["format"] for e in entries] == ["csv-cp932", "csv"]
        assert entries[0].details["replacement"] == "〓"


def test_viewers_cannot_export_staff_and_admins_can(likers, signed_in):
    viewer = signed_in("viewer")
    assert viewer.get(EXPORT).status_code == 403
    denied = viewer.post_form(
        EXPORT, {"format": "csv", "columns": ["number"]}, token_from="/likers/"
    )
    assert denied.status_code == 403
    for role in ("staff", "admin"):
        browser = signed_in(role)
        assert browser.get(EXPORT).status_code == 200
        assert export(browser).status_code == 200


def test_a_form_without_columns_or_with_unknown_ones_explains_itself(likers, signed_in):
    staff = signed_in("staff")
    for columns in ([], ["number", "password"]):
        response = export(staff, columns=columns)
        assert response.mimetype == "text/html" and response.status_code == 200
        assert 'class="invalid-feedback d-block"' in response.get_data(as_text=True)


def test_the_audit_row_holds_filter_format_count_and_ids_before_streaming(
    app, likers, signed_in
):
    staff = signed_in("staff")
    response = export(staff, "residence=in_town&page=2", columns=["name", "number"])
    with app.app_context():  # committed before a byte was read
        entry = last_export()
        assert entry.object_type == "supporters"
        assert entry.user_id is not None and entry.object_id is None
        details = entry.details
    assert details["filter"] == {"residence": ["in_town"]}
    assert details["format"] == "csv" and details["columns"] == ["name", "number"]
    expected = sorted(likers[key][0] for key in ("hanako", "formula", "rare"))
    assert details["rows"] == 3
    assert ids_from_ranges(details["supporter_ids"]) == expected
    exported = {row[1] for row in csv_rows(response)[1:]}
    assert exported == {likers[key][1] for key in ("hanako", "formula", "rare")}


def test_the_file_holds_the_audited_people_even_if_someone_registers_meanwhile(
    app, likers, signed_in
):
    """The ids and the rows come from one snapshot, which takes no write lock:
    the desk can register people while a big export streams."""
    response = export(signed_in("staff"), "residence=in_town", columns=["number"])
    with app.test_request_context():
        newcomer = make_supporter(family_name="新人").registration_number
        db.session.commit()
    numbers = [row[0] for row in csv_rows(response)[1:]]
    assert newcomer not in numbers and len(numbers) == 3


def test_id_ranges_are_compact_and_round_trip():
    assert id_ranges([1, 2, 2, 3, 5, 7, 8]) == "1-3,5,7-8"
    assert id_ranges([]) == "" and ids_from_ranges("") == [] and count_ids("") == 0
    ids = [1, 2, 3, 5, 7, 8, 100]
    assert ids_from_ranges(id_ranges(ids)) == ids and count_ids(id_ranges(ids)) == 7
    assert id_ranges(iter(range(1, 200_001))) == "1-200000"
    with pytest.raises(ValueError):
        id_ranges([3, 1])


def test_the_default_columns_are_a_sensible_subset():
    assert DEFAULT_COLUMNS[:3] == ["number", "name", "kana"]
    assert "notes" not in DEFAULT_COLUMNS and "birth_date" not in DEFAULT_COLUMNS


@pytest.fixture
def event_with_roster(app, likers):
    with app.test_request_context():
        event = make_event(days=2, first_day=date(2025, 6, 1), title="炭鉱まつり")
        first, second = event.days
        hanako = db.session.get(Supporter, likers["hanako"][0])
        rare = db.session.get(Supporter, likers["rare"][0])
        tokyo = db.session.get(Supporter, likers["tokyo"][0])
        check_in(first, hanako).attendance.checked_in_at = datetime(2025, 6, 1, 1, 5)
        attendance = check_in(first, tokyo).attendance
        attendance.checked_in_at = datetime(2025, 6, 1, 0, 30)
        change_role(attendance, "volunteer")
        check_in(second, rare).attendance.checked_in_at = datetime(2025, 6, 2, 2, 0)
        guest = add_guest(first, "citizen", "=市民 一郎", "シミン イチロウ")
        set_walk_ins(first, "citizen", 3)
        set_walk_ins(second, "visitor", 2)
        db.session.commit()
        return {"event_id": event.id, "guest_id": guest.id}


def test_the_event_roster_exports_likers_guests_and_counts(
    app, likers, event_with_roster, signed_in
):
    event_id = event_with_roster["event_id"]
    staff = signed_in("staff")
    url = f"/exports/events/{event_id}/roster"
    page = staff.get(f"/events/{event_id}").get_data(as_text=True)
    assert f'action="{url}"' in page
    response = staff.post_form(url, {"format": "csv"}, token_from=f"/events/{event_id}")
    assert response.is_streamed
    rows = csv_rows(response)
    assert rows[0] == [
        "日付", "区分", "登録番号", "氏名", "ふりがな", "役割", "受付時刻", "居住地",
        "人数",
    ]  # fmt: skip
    assert rows[1:] == [
        ["2025-06-01", "Likers", likers["tokyo"][1], "東京\u3000花子",
         "トウキョウ\u3000ハナコ", "ボランティア", "09:30:00", "道外", "1"],
        ["2025-06-01", "Likers", likers["hanako"][1], "夕張\u3000花子",
         "ユウバリ\u3000ハナコ", "参加者", "10:05:00", "市内", "1"],
        ["2025-06-01", "市民（名前を記録）", "", "'=市民 一郎", "シミン イチロウ",
         "", "", "", "1"],
        ["2025-06-01", "市民（人数のみ）", "", "", "", "", "", "", "3"],
        ["2025-06-02", "Likers", likers["rare"][1], "髙橋\u3000﨑山①",
         "タカハシ\u3000サキヤマ", "参加者", "11:00:00", "市内", "1"],
        ["2025-06-02", "来訪者（人数のみ）", "", "", "", "", "", "", "2"],
    ]  # fmt: skip
    with app.app_context():
        entry = last_export()
    assert (entry.object_type, entry.object_id) == ("event", event_id)
    assert entry.details["rows"] == 6 and entry.details["filter"] == {"event": event_id}
    assert ids_from_ranges(entry.details["supporter_ids"]) == sorted(
        likers[key][0] for key in ("hanako", "rare", "tokyo")
    )
    assert ids_from_ranges(entry.details["guest_ids"]) == [
        event_with_roster["guest_id"]
    ]

    workbook = staff.post_form(
        url, {"format": "xlsx"}, token_from=f"/events/{event_id}"
    )
    sheet = sheet_rows(workbook)
    assert sheet[1][:4] == (
        datetime(2025, 6, 1),
        "Likers",
        likers["tokyo"][1],
        "東京\u3000花子",
    )
    assert sheet[1][6] == time(9, 30) and sheet[3][3] == "'=市民 一郎"


def test_a_stopped_liker_is_counted_in_the_roster_but_not_named(
    app, likers, event_with_roster, signed_in
):
    from crm.rights.services import stop_use

    event_id = event_with_roster["event_id"]
    with app.app_context():
        stop_use(db.session.get(Supporter, likers["tokyo"][0]))
        db.session.commit()
    staff = signed_in("staff")
    page = staff.get(f"/events/{event_id}").get_data(as_text=True)
    assert likers["tokyo"][1] not in page and "（利用停止）" in page
    assert likers["hanako"][1] in page
    response = staff.post_form(
        f"/exports/events/{event_id}/roster", {"format": "csv"},
        token_from=f"/events/{event_id}",
    )  # fmt: skip
    text = response.get_data(as_text=True)
    assert "東京" not in text and likers["tokyo"][1] not in text
    rows = csv_rows(response)
    assert ["2025-06-01", "Likers", "", "（利用停止）", "", "ボランティア", "09:30:00",
            "", "1"] in rows  # fmt: skip
    with app.app_context():
        entry = last_export()
    assert likers["tokyo"][0] not in ids_from_ranges(entry.details["supporter_ids"])


def test_the_roster_names_characters_cp932_lacks_and_is_staff_only(
    app, likers, event_with_roster, signed_in
):
    event_id = event_with_roster["event_id"]
    with app.test_request_context():
        from crm.events.models import Event

        day = db.session.get(Event, event_id).days[0]
        add_guest(day, "visitor", "𠮷村 次郎")
        db.session.commit()
    url = f"/exports/events/{event_id}/roster"
    staff = signed_in("staff")
    warning = staff.post_form(
        url, {"format": "csv-cp932"}, token_from=f"/events/{event_id}"
    )
    assert "2025-06-01 来訪者（名前を記録）「氏名」の𠮷" in warning.get_data(
        as_text=True
    )
    replaced = staff.post_form(
        url, {"format": "csv-cp932", "replace": "y"}, token_from=f"/events/{event_id}"
    )
    assert ["〓村 次郎"] == [
        row[3] for row in csv_rows(replaced, "cp932") if row[3].endswith("次郎")
    ]
    viewer = signed_in("viewer")
    assert "roster-export" not in viewer.get(f"/events/{event_id}").get_data(
        as_text=True
    )
    denied = viewer.post_form(url, {"format": "csv"}, token_from=f"/events/{event_id}")
    assert denied.status_code == 403


@pytest.mark.parametrize("file_format", ["csv-cp932", "xlsx"])
def test_the_long_reads_and_writes_hold_no_sqlite_write_lock(
    app, likers, signed_in, monkeypatch, file_format
):
    """The check-in desk must be able to write while a big export is read."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    from crm.exports import views

    seen = []

    def probing(name):
        real = getattr(views, name)

        def probe(*args, **kwargs):
            other = sqlite3.connect(url.database, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                seen.append((name, "free"))
            except sqlite3.OperationalError:
                seen.append((name, "locked"))
            finally:
                other.close()
            return real(*args, **kwargs)

        monkeypatch.setattr(views, name, probe)

    for name in ("matching_id_ranges", "find_unencodable", "xlsx_chunks", "csv_chunks"):
        probing(name)
    response = export(signed_in("staff"), format=file_format)
    assert response.status_code == 200 and response.data
    steps = {
        "csv-cp932": ["matching_id_ranges", "find_unencodable", "csv_chunks"],
        "xlsx": ["matching_id_ranges", "xlsx_chunks"],
    }[file_format]
    assert seen == [(name, "free") for name in steps]


def test_the_check_keeps_the_first_characters_and_counts_them_all():
    rows = [[f"YL-{i:05d}", "𠮷田", "髙橋"] for i in range(1, 101)]
    problems, total = find_unencodable(["登録番号", "氏名", "姓"], rows, itemgetter(0))
    assert total == 100 and len(problems) == 20
    assert problems[0] == UnencodableIn("YL-00001", "氏名", "𠮷")
    summary = named_problems_summary(problems, total)
    assert summary.startswith("YL-00001「氏名」の𠮷、YL-00002「氏名」の𠮷")
    assert summary.endswith(" ほか80件")


def test_the_streamed_workbook_holds_every_kind_of_value_exactly():
    rows = [
        ["𠮷田 髙子", 12, 1.5, True, date(2019, 5, 1), datetime(2026, 4, 1, 9, 30),
         time(13, 45), None, "=HYPERLINK(\"x\")", "a\x00b<&>"],
    ] * 1200  # more than two chunks  # fmt: skip
    header = ["氏名", "n", "x", "b", "day", "at", "time", "empty", "formula", "odd"]
    parts = list(xlsx_chunks(header, rows, "Likers: [一覧]", [20] * 10))
    assert len(parts) > 3  # sent as it is written, not at the end
    workbook = load_workbook(io.BytesIO(b"".join(parts)))
    sheet = workbook.worksheets[0]
    assert sheet.title == "Likers_ _一覧_" and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == header and sheet["A1"].font.bold
    assert sheet.max_row == 1201
    last = [c.value for c in sheet[1201]]
    assert last == [
        "𠮷田 髙子", 12, 1.5, True, datetime(2019, 5, 1), datetime(2026, 4, 1, 9, 30),
        time(13, 45), None, "'=HYPERLINK(\"x\")", "ab<&>",
    ]  # fmt: skip
    assert sheet["E2"].number_format == "yyyy-mm-dd"
    assert sheet["F2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["I2"].data_type == "s"
    assert sheet.column_dimensions["A"].width == 20


def test_a_big_xlsx_export_is_streamed(likers, signed_in):
    response = export(signed_in("staff"), format="xlsx")
    assert response.is_streamed
    assert response.headers["Content-Type"] == XLSX_MIMETYPE
    assert ".xlsx" in response.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(response.data)).worksheets[0].max_row > 1
