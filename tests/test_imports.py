"""Importing lists: encodings, headers, era dates, all-or-nothing, duplicates, records."""

import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.events.models import Attendance, WalkInCount
from crm.extensions import db
from crm.imports.columns import guess_mapping
from crm.imports.duplicates import find_duplicates
from crm.imports.reading import read_table
from crm.imports.records import check_attendance, commit_attendance
from crm.imports.services import ImportRefused, check_likers, commit_likers
from crm.societies.models import Society, SocietyMembership
from crm.supporters.models import Supporter
from crm.supporters.services import SupporterData
from tests.factories import make_event, make_supporter

HEADER = "姓,名,セイ,メイ,生年月日,メールアドレス,電話番号,郵便番号,関係区分\n"


def _import(app, data: bytes, name="likers.csv", encoding="auto", decisions=None):
    with app.test_request_context():
        table = read_table(data, name, encoding)
        mapping = guess_mapping(table.headers)
        check = check_likers(table, mapping)
        if check.problems:
            return check, None
        result = commit_likers(table, mapping, decisions or {})
        db.session.commit()
        return check, result


def _names(app):
    with app.app_context():
        return sorted(
            (s.family_name, s.given_name)
            for s in db.session.scalars(
                select(Supporter).where(Supporter.status == "active")
            )
        )


def test_a_cp932_file_keeps_rare_characters_exactly(app):
    text = HEADER + "髙橋,①子,タカハシ,イチコ,,,,,\n山﨑,太郎,ヤマサキ,タロウ,,,,,\n"
    check, result = _import(app, text.encode("cp932"))
    assert check.ok and len(result.created) == 2
    assert _names(app) == [("山﨑", "太郎"), ("髙橋", "①子")]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_and_without_bom_and_a_rare_kanji_only_utf8_holds(app, bom):
    text = HEADER + "𠮷田,花子,ヨシダ,ハナコ,,,,,\n"
    check, result = _import(app, bom + text.encode())
    assert check.ok and _names(app) == [("𠮷田", "花子")]


def test_an_xlsx_with_real_dates_and_english_headers(app):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Family name", "Given name", "Family kana", "Given kana", "Date of birth",
                  "Postal code"])  # fmt: skip
    sheet.append(["夕張", "一郎", "ユウバリ", "イチロウ", date(1980, 4, 1), 680400])
    output = io.BytesIO()
    workbook.save(output)
    check, result = _import(app, output.getvalue(), name="list.xlsx")
    assert check.ok, check.problems
    with app.app_context():
        liker = db.session.get(Supporter, result.created[0])
        assert liker.birth_date == date(1980, 4, 1)
        assert liker.postal_code == "068-0400"  # a number in Excel loses its 0


def test_headers_are_recognised_in_their_usual_japanese_forms():
    assert guess_mapping(["氏名", "フリガナ", "Ｅメール", "TEL", "〒", "住所"]) == {
        0: "full_name", 1: "full_kana", 2: "email", 3: "phone", 4: "postal_code",
        5: "address",
    }  # fmt: skip
    assert guess_mapping(["姓（カナ）", "名(かな)", "生年月日", "関係区分", "謎の列"]) == {
        0: "family_name_kana", 1: "given_name_kana", 2: "birth_date", 3: "categories",
    }  # fmt: skip


def test_full_names_split_and_an_address_gives_its_prefecture_and_town(app):
    text = "氏名,ふりがな,住所\n夕張　花子,ゆうばり　はなこ,北海道夕張市本町1-2-3\n"
    check, result = _import(app, text.encode())
    with app.app_context():
        liker = db.session.get(Supporter, result.created[0])
        assert (liker.family_name, liker.given_name) == ("夕張", "花子")
        assert (liker.prefecture, liker.municipality, liker.address) == (
            "北海道", "夕張市", "本町1-2-3",
        )  # fmt: skip
        assert liker.residence == "in_town"


def test_era_dates_are_read_and_impossible_dates_reported(app):
    text = (
        HEADER
        + "一,郎,イチ,ロウ,平成3年4月1日,,,,\n"
        + "二,郎,ニ,ロウ,昭和55年4月1日,,,,\n"
        + "三,郎,サン,ロウ,R1.5.1,,,,\n"
        + "四,郎,ヨン,ロウ,平成31年5月1日,,,,\n"  # 平成 had ended
        + "五,郎,ゴ,ロウ,2001年2月30日,,,,\n"
    )
    check, result = _import(app, text.encode())
    assert result is None
    assert sorted(check.problems) == [5, 6]
    assert "平成31年5月1日" in check.problems[5][0]
    with app.test_request_context():
        table = read_table(text.encode(), "x.csv")
        rows = {line: cells for line, cells in table.rows()}
        assert rows[2][4] == "平成3年4月1日"


def test_every_problem_of_a_row_is_listed_in_japanese(app):
    text = HEADER + ",,,,,not-an-email,12,123,未知の区分\n"
    check, _result = _import(app, text.encode())
    problems = " ".join(check.problems[2])
    for expected in ("氏名がありません", "フリガナがありません", "メールアドレスではありません",
                     "電話番号ではありません", "郵便番号", "関係区分にありません"):  # fmt: skip
        assert expected in problems


def test_an_error_in_row_9999_of_10000_writes_nothing(app):
    lines = [
        f"登録{i},太郎,トウロク,タロウ,,user{i}@example.jp,,,\n" for i in range(10_000)
    ]
    lines[9_998] = "登録,太郎,トウロク,タロウ,,broken@,,,\n"
    data = (HEADER + "".join(lines)).encode()
    with app.test_request_context():
        table = read_table(data, "big.csv")
        mapping = guess_mapping(table.headers)
        check = check_likers(table, mapping)
        assert list(check.problems) == [10_000]  # line 10,000: the 9,999th row
        with pytest.raises(ImportRefused) as refused:
            commit_likers(table, mapping, {})
        assert list(refused.value.problems) == [10_000]
        db.session.commit()
        assert db.session.scalar(select(func.count(Supporter.id))) == 0


def test_duplicates_are_found_across_widths_hyphens_and_variant_kanji(app):
    with app.test_request_context():
        stored = make_supporter(
            family_name="髙橋", given_name="一郎", family_name_kana="タカハシ",
            given_name_kana="イチロウ", email="Ichiro@Example.jp", phone="090-1234-5678",
            birth_date=date(1980, 4, 1), postal_code="068-0400",
        )  # fmt: skip
        db.session.commit()

        def best(**values):
            data = SupporterData(**{"family_name": "別人", "given_name": "",
                                    "family_name_kana": "ベツジン", "given_name_kana": "",
                                    **values})  # fmt: skip
            matches = find_duplicates([data])[0]
            return (matches[0].supporter_id, matches[0].reasons) if matches else None

        assert best(email="ｉｃｈｉｒｏ@example.jp") == (stored.id, ["email"])
        assert best(phone="０９０１２３４５６７８") == (stored.id, ["phone"])
        assert best(phone="+81 90-1234-5678") == (stored.id, ["phone"])
        assert best(family_name_kana="たかはし", given_name_kana="いちろう",
                    birth_date=date(1980, 4, 1)) == (stored.id, ["kana_birth"])  # fmt: skip
        assert best(family_name="高橋", given_name="一郎", postal_code="0680400") == (
            stored.id, ["name_postal"],
        )  # fmt: skip
        assert best(phone="090-1234-5679") is None


def test_each_duplicate_row_is_skipped_updated_or_created_as_decided(app):
    with app.test_request_context():
        stored = make_supporter(email="taro@example.jp")
        db.session.commit()
        stored_id, number = stored.id, stored.registration_number
    text = (HEADER + "夕張,太郎,ユウバリ,タロウ,,taro@example.jp,011-222-3333,,\n"
            + "夕張,次郎,ユウバリ,ジロウ,,taro@example.jp,,,\n")  # fmt: skip
    with app.test_request_context():
        table = read_table(text.encode(), "x.csv")
        check = check_likers(table, guess_mapping(table.headers))
    assert [r.line for r in check.flagged] == [2, 3]
    assert check.flagged[0].matches[0].registration_number == number
    assert check.flagged[1].repeats_line == 2
    _check, result = _import(
        app, text.encode(), decisions={"2": f"update:{stored_id}", "3": "create"}
    )
    assert result.updated == [stored_id] and len(result.created) == 1
    with app.app_context():
        assert db.session.get(Supporter, stored_id).phone == "011-222-3333"
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "import")
        )
        assert entry.details["updated"] == [stored_id]


def test_attendance_from_a_sign_in_sheet_by_number_or_unique_name(app):
    with app.test_request_context():
        hanako = make_supporter()
        taro = make_supporter(given_name="太郎", given_name_kana="タロウ")
        make_supporter(family_name="同名", given_name="一郎")
        make_supporter(family_name="同名", given_name="一郎")
        event = make_event(days=2, first_day=date(2025, 7, 1))
        db.session.commit()
        text = (
            "日付,登録番号,氏名,市民,来訪者\n"
            f"2025-07-01,{hanako.registration_number},,,\n"
            "2025-07-01,,夕張 太郎,,\n"
            "2025-07-01,,,12,5\n"
            f"2025-07-02,{int(hanako.registration_number[3:])},,,\n"
        )
        table = read_table(text.encode(), "sheet.csv")
        check = check_attendance(
            table, guess_mapping(table.headers, "attendance"), event
        )
        assert check.ok, check.problems
        commit_attendance(check, event)
        db.session.commit()
        rows = db.session.execute(select(Attendance.supporter_id)).scalars().all()
        assert sorted(rows) == sorted([hanako.id, taro.id, hanako.id])
        first_day = event.days[0].id
        assert db.session.get(WalkInCount, (first_day, "citizen")).count == 12
        again = check_attendance(
            table, guess_mapping(table.headers, "attendance"), event
        )
        commit_attendance(again, event)
        db.session.commit()
        assert db.session.scalar(select(func.count(Attendance.id))) == 3  # never twice
        bad = read_table(
            "日付,氏名\n2025-07-01,同名 一郎\n2025-08-01,夕張 花子\n".encode(), "b.csv"
        )
        problems = check_attendance(
            bad, guess_mapping(bad.headers, "attendance"), event
        ).problems
        assert (
            "複数います" in problems[2][0] and "開催日ではありません" in problems[3][0]
        )


def test_the_command_line_reports_rows_and_writes_nothing_on_error(app, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "夕張,花子,ユウバリ,ハナコ,,,,,\n夕張,二郎,,,,,,,\n", encoding="cp932"
    )
    result = app.test_cli_runner().invoke(args=["import", "likers", str(bad)])
    assert result.exit_code != 0
    assert "line 3:" in result.output and "nothing was imported" in result.output
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "夕張,花子,ユウバリ,ハナコ,,,,,\n", encoding="utf-8-sig")
    dry = app.test_cli_runner().invoke(
        args=["import", "likers", str(good), "--dry-run"]
    )
    assert dry.exit_code == 0 and _names(app) == []
    done = app.test_cli_runner().invoke(args=["import", "likers", str(good)])
    assert done.exit_code == 0, done.output
    assert _names(app) == [("夕張", "花子")]


def test_the_wizard_uploads_checks_and_imports_for_its_uploader_only(app, signed_in):
    staff = signed_in("staff")
    upload = staff.post_form(
        "/imports/",
        {"kind": "likers", "encoding": "auto",
         "file": (io.BytesIO((HEADER + "夕張,花子,ユウバリ,ハナコ,,,,,出身者\n").encode("cp932")),
                  "list.csv")},
    )  # fmt: skip
    assert upload.status_code == 302
    columns_url = upload.headers["Location"]
    page = staff.get(columns_url).get_data(as_text=True)
    assert "セイ" in page and "ユウバリ" in page
    preview_url = columns_url.replace("/columns", "/preview")
    assert "1行を読みました。" in staff.get(preview_url).get_data(as_text=True)
    other = signed_in("admin")
    assert other.get(preview_url).status_code == 200  # admins may look
    commit_url = columns_url.replace("/columns", "/commit")
    refused = staff.post_form(
        commit_url, {}, token_from=preview_url, follow_redirects=True
    )
    assert "同意していることを確認" in refused.get_data(as_text=True)
    done = staff.post_form(commit_url, {"consent": "y"}, token_from=preview_url)
    assert done.status_code == 302 and _names(app) == [("夕張", "花子")]
    assert signed_in("viewer").get("/imports/").status_code == 403


def test_society_members_from_a_roster(app):
    from crm.imports.records import check_memberships, commit_memberships

    with app.test_request_context():
        liker = make_supporter()
        db.session.add(Society(name="東京夕張会"))
        db.session.commit()
        text = f"ふるさと会,登録番号,役職,入会日\n東京夕張会,{liker.registration_number},役員,平成30年4月1日\n"
        table = read_table(text.encode(), "roster.csv")
        check = check_memberships(table, guess_mapping(table.headers, "memberships"))
        assert check.ok, check.problems
        commit_memberships(check)
        db.session.commit()
        membership = db.session.scalar(select(SocietyMembership))
        assert (membership.role, membership.since) == ("officer", date(2018, 4, 1))


def test_the_registration_form_warns_before_saving_a_likely_duplicate(app, signed_in):
    from tests.test_supporters_registry import FORM

    staff = signed_in("staff")
    first = staff.post_form("/likers/new", {**FORM, "email": "same@example.jp"})
    assert first.status_code == 302
    again = staff.post_form(
        "/likers/new", {**FORM, "given_name": "別人", "email": "SAME@example.jp"}
    )
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "すでに登録されている方かもしれません" in page
    assert 'value="別人"' in page  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count(Supporter.id))) == 1
    confirmed = staff.post_form(
        "/likers/new",
        {
            **FORM,
            "given_name": "別人",
            "email": "SAME@example.jp",
            "not_a_duplicate": "y",
        },
    )
    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Supporter.id))) == 2


def test_category_names_with_a_middle_dot_are_read_whole(app):
    """「家族・親族」 is one category; 「・」 still separates names that are not."""
    text = HEADER + (
        "山田,花子,ヤマダ,ハナコ,,,,,家族・親族、ファン\n"
        "山田,太郎,ヤマダ,タロウ,,,,,出身者・勤務・在住経験\n"
    )
    check, result = _import(app, text.encode())
    assert not check.problems
    with app.app_context():
        chosen = {
            s.given_name: sorted(c.name for c in s.categories)
            for s in db.session.scalars(select(Supporter))
        }
    assert chosen == {
        "花子": sorted(["家族・親族", "ファン"]),
        "太郎": sorted(["出身者", "勤務・在住経験"]),
    }
