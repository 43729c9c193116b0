"""The check-in desk as staff use it: scans, repeats, names, walk-ins and undo."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.events.models import Attendance
from crm.events.services import check_in
from crm.extensions import db
from crm.supporters.models import Supporter
from crm.supporters.services import withdraw_supporter
from crm.supporters.tokens import public_url, token_from_scan
from crm.timeutil import today_jst
from tests.conftest import csrf_token_from
from tests.factories import make_event, make_supporter

JSON = {"Accept": "application/json"}


@pytest.fixture
def desk(app):
    """Today's event day with three Likers; returns their ids and tokens."""
    with app.test_request_context():
        event = make_event(title="夕張の歴史写真展")
        hanako = make_supporter()
        taro = make_supporter(
            family_name="髙橋", given_name="太郎",
            family_name_kana="タカハシ", given_name_kana="タロウ",
            prefecture="東京都", municipality="新宿区",
        )  # fmt: skip
        gone = make_supporter(family_name="退会", family_name_kana="タイカイ")
        withdraw_supporter(gone, today_jst(), None)
        db.session.commit()
        return {
            "event_id": event.id,
            "day_id": event.days[0].id,
            "hanako": (hanako.id, hanako.public_token, hanako.registration_number),
            "taro": (taro.id, taro.public_token, taro.registration_number),
            "gone": (gone.id, gone.public_token, gone.registration_number),
        }


@pytest.fixture
def staff_desk(signed_in, desk):
    """A signed-in staff browser with a scan(text) helper posting like desk.js."""
    staff = signed_in("staff")
    page = staff.get(f"/desk/{desk['day_id']}").get_data(as_text=True)
    token = csrf_token_from(page)

    def post(path, **data):
        return staff.client.post(
            f"/desk/{desk['day_id']}/{path}",
            data=data,
            headers={**JSON, "X-CSRFToken": token},
        )

    staff.scan = lambda text, **extra: post("check-in", code=text, **extra)
    staff.post_desk = post
    staff.page = page
    return staff


def attendance_count(app, day_id, supporter_id=None) -> int:
    with app.app_context():
        query = select(func.count(Attendance.id)).where(
            Attendance.event_day_id == day_id
        )
        if supporter_id is not None:
            query = query.where(Attendance.supporter_id == supporter_id)
        count = db.session.scalar(query)
        db.session.remove()
        return count


def test_the_qr_url_checks_in_and_a_repeat_scan_says_when_without_counting_again(
    app, desk, staff_desk
):
    supporter_id, token, number = desk["hanako"]
    url = public_url("https://likers.example.jp", token)

    first = staff_desk.scan(url).get_json()
    assert first["result"] == "checked_in"
    assert first["supporter"]["name"] == "夕張 花子"
    assert first["supporter"]["number"] == number
    assert first["message"] == "夕張 花子 さんを受付しました"
    assert first["totals"]["liker_participations"] == 1

    again = staff_desk.scan(url).get_json()
    assert again["result"] == "already"
    assert again["message"] == (
        f"受付済みです（{first['attendance']['time']}）。二重には数えません。"
    )
    assert again["totals"]["liker_participations"] == 1
    assert attendance_count(app, desk["day_id"], supporter_id) == 1


@pytest.mark.parametrize(
    "typed",
    [
        "{token}",  # a scanner configured to send the bare token
        "ｈｔｔｐｓ：／／ｌｉｋｅｒｓ．ｅｘａｍｐｌｅ．ｊｐ／ｖ／{token}",  # IME turned on
        "likers.example.jp/v/{token}",  # no scheme
        "{number}",
        "{digits}",  # the digits of the number alone
    ],
)
def test_the_desk_accepts_what_scanners_and_staff_type(app, desk, staff_desk, typed):
    supporter_id, token, number = desk["hanako"]
    if "ｈｔｔｐｓ" in typed:
        token = token.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    text = typed.format(token=token, number=number, digits=number[3:].lstrip("0"))
    answer = staff_desk.scan(text).get_json()
    assert answer["result"] == "checked_in", text
    assert answer["supporter"]["id"] == supporter_id


def test_a_kana_search_lists_candidates_and_choosing_one_checks_in(
    app, desk, staff_desk
):
    taro_id = desk["taro"][0]
    answer = staff_desk.scan("ﾀｶﾊｼ").get_json()
    assert answer["result"] == "choose"
    assert [c["name"] for c in answer["candidates"]] == ["髙橋 太郎"]
    assert answer["candidates"][0]["checked_in_at"] == ""
    assert attendance_count(app, desk["day_id"]) == 0

    chosen = staff_desk.scan("", supporter_id=str(taro_id)).get_json()
    assert chosen["result"] == "checked_in"
    assert chosen["supporter"]["residence"] == "道外"

    # Searching again shows that he is already in.
    again = staff_desk.scan("たかはし").get_json()
    assert again["candidates"][0]["checked_in_at"] == chosen["attendance"]["time"]


def test_withdrawn_likers_unknown_codes_and_cancelled_events_are_not_counted(
    app, desk, staff_desk
):
    gone_token = desk["gone"][1]
    answer = staff_desk.scan(gone_token).get_json()
    assert answer["result"] == "withdrawn"
    assert "退会済み" in answer["message"]
    unknown = staff_desk.scan("https://likers.example.jp/v/" + "x" * 22).get_json()
    assert unknown["result"] == "not_found"
    assert "見つかりません" in unknown["message"]

    with app.app_context():
        from crm.events.models import Event

        db.session.get(Event, desk["event_id"]).status = "cancelled"
        db.session.commit()
    cancelled = staff_desk.scan(desk["hanako"][1])
    assert cancelled.status_code == 409
    assert cancelled.get_json()["message"] == "このイベントは中止です。"
    # Neither walk-ins nor new registrations are counted for a cancelled event.
    assert (
        staff_desk.post_desk("walk-ins", group="citizen", delta="1").status_code == 409
    )
    newcomer = staff_desk.post_desk(
        "register", family_name="新", given_name="人", family_name_kana="シン",
        given_name_kana="ジン", privacy_consent="y",
    )  # fmt: skip
    assert newcomer.status_code == 409
    assert attendance_count(app, desk["day_id"]) == 0


def test_the_first_check_in_marks_a_planned_event_as_held(app, desk, staff_desk):
    staff_desk.scan(desk["hanako"][1])
    with app.app_context():
        from crm.events.models import Event

        assert db.session.get(Event, desk["event_id"]).status == "held"


def test_walk_in_counters_add_and_subtract_but_never_go_below_zero(
    app, desk, staff_desk
):
    def count(group, delta):
        return staff_desk.post_desk("walk-ins", group=group, delta=str(delta))

    for delta in (1, 1, 1, -1):
        answer = count("citizen", delta).get_json()
    assert answer["message"] == "市民：2人"
    assert answer["totals"]["citizens"] == 2
    answer = count("visitor", -1).get_json()
    assert answer["totals"]["visitors"] == 0
    answer = count("visitor", 1).get_json()
    assert (answer["totals"]["visitors"], answer["totals"]["participations"]) == (1, 3)
    assert count("visitor", 5).status_code == 400
    assert count("staff", 1).status_code == 400


def test_undoing_a_check_in_removes_it_and_is_audited(app, users, desk, staff_desk):
    supporter_id = desk["hanako"][0]
    checked = staff_desk.scan(desk["hanako"][1]).get_json()
    undo = staff_desk.client.post(
        checked["attendance"]["undo_url"],
        headers={**JSON, "X-CSRFToken": csrf_token_from(staff_desk.page)},
    )
    assert undo.status_code == 200
    assert undo.get_json()["message"] == "夕張 花子 さんの受付を取り消しました。"
    assert undo.get_json()["totals"]["liker_participations"] == 0
    assert attendance_count(app, desk["day_id"]) == 0
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "undo_check_in")
        )
        assert (entry.object_type, entry.object_id) == ("supporter", supporter_id)
        assert entry.user_id == users["staff"]
        assert entry.details["event_day_id"] == desk["day_id"]
    # The person can be checked in again afterwards.
    assert staff_desk.scan(desk["hanako"][1]).get_json()["result"] == "checked_in"


def test_an_undo_url_of_another_event_is_not_found(app, desk, staff_desk):
    checked = staff_desk.scan(desk["hanako"][1]).get_json()
    with app.test_request_context():
        other = make_event(title="別のイベント")
        db.session.commit()
        other_id = other.id
    url = f"/events/{other_id}/attendances/{checked['attendance']['id']}/undo"
    token = csrf_token_from(staff_desk.page)
    response = staff_desk.client.post(url, headers={**JSON, "X-CSRFToken": token})
    assert response.status_code == 404
    assert attendance_count(app, desk["day_id"]) == 1


def test_a_new_person_is_registered_and_checked_in_at_the_desk(app, desk, staff_desk):
    answer = staff_desk.post_desk(
        "register",
        family_name="𠮷田", given_name="髙子",
        family_name_kana="ヨシダ", given_name_kana="タカコ",
        postal_code="160-0022", prefecture="東京都", municipality="新宿区",
        privacy_consent="y",
    ).get_json()  # fmt: skip
    assert answer["result"] == "checked_in"
    assert answer["new"] is True
    assert answer["message"].startswith("𠮷田 髙子 さんを登録番号 YL-0000")
    with app.app_context():
        supporter = db.session.get(Supporter, answer["supporter"]["id"])
        assert (supporter.family_name, supporter.given_name) == ("𠮷田", "髙子")
        assert supporter.residence == "outside_prefecture"
        assert supporter.channel.name == "イベント会場"
        assert supporter.privacy_policy_version == "1.0"
        db.session.remove()
    assert attendance_count(app, desk["day_id"], answer["supporter"]["id"]) == 1


def test_the_desk_form_refuses_without_consent_and_names_the_missing_fields(
    app, desk, staff_desk
):
    response = staff_desk.post_desk("register", family_name="𠮷田")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["given_name"] == ["「名」を入力してください。"]
    assert "privacy_consent" in errors
    with app.app_context():
        assert db.session.scalar(select(func.count(Supporter.id))) == 3


def test_viewers_cannot_check_in(app, signed_in, desk):
    viewer = signed_in("viewer")
    token = csrf_token_from(viewer.get("/likers/").get_data(as_text=True))
    response = viewer.client.post(
        f"/desk/{desk['day_id']}/check-in",
        data={"code": desk["hanako"][1]},
        headers={**JSON, "X-CSRFToken": token},
    )
    assert response.status_code == 403
    assert viewer.get(f"/desk/{desk['day_id']}").status_code == 403
    assert attendance_count(app, desk["day_id"]) == 0


def test_without_javascript_the_desk_form_still_checks_in(app, desk, staff_desk):
    response = staff_desk.post_form(
        f"/desk/{desk['day_id']}/check-in",
        {"code": desk["hanako"][2]},
        token_from=f"/desk/{desk['day_id']}",
        follow_redirects=True,
    )
    assert "夕張 花子 さんを受付しました" in response.get_data(as_text=True)
    assert attendance_count(app, desk["day_id"]) == 1


def test_a_desk_for_another_day_warns_that_it_is_not_today(app, signed_in):
    with app.test_request_context():
        event = make_event(first_day=today_jst() + timedelta(days=3))
        db.session.commit()
        day_id = event.days[0].id
    page = signed_in("staff").get(f"/desk/{day_id}").get_data(as_text=True)
    assert "本日ではなく" in page


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "https://likers.example.jp/v/AbCdEfGhIjKlMnOpQrStUv",
            "AbCdEfGhIjKlMnOpQrStUv",
        ),
        (
            "https://likers.example.jp/v/AbCdEfGhIjKlMnOpQrStUv/",
            "AbCdEfGhIjKlMnOpQrStUv",
        ),
        ("AbCdEfGhIjKlMnOpQrSt_-", "AbCdEfGhIjKlMnOpQrSt_-"),
        ("https://likers.example.jp/likers/12", None),
        ("YL-00012", None),
        ("たかはし", None),
        ("", None),
    ],
)
def test_tokens_are_read_from_what_a_scanner_types(text, expected):
    assert token_from_scan(text) == expected


# --- two desks at the same moment ------------------------------------------------


@pytest.mark.concurrency
def test_two_desks_scanning_the_same_cards_at_once_make_one_record_each(app, desk):
    """8 threads check in the same 5 Likers at the same moment, on either database."""
    with app.test_request_context():
        supporters = [make_supporter(given_name=f"{i}") for i in range(5)]
        db.session.commit()
        ids = [s.id for s in supporters]
    day_id = desk["day_id"]
    created: list[bool] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(8)

    def desk_worker():
        barrier.wait()
        for supporter_id in ids:
            try:
                with app.app_context():
                    from crm.events.models import EventDay

                    day = db.session.get(EventDay, day_id)
                    result = check_in(day, db.session.get(Supporter, supporter_id))
                    db.session.commit()
                    created.append(result.created)
            except Exception as error:  # collected and asserted below
                errors.append(error)

    threads = [threading.Thread(target=desk_worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert created.count(True) == 5 and created.count(False) == 35
    for supporter_id in ids:
        assert attendance_count(app, day_id, supporter_id) == 1


@pytest.mark.concurrency
def test_concurrent_http_scans_of_one_card_answer_checked_in_exactly_once(
    app, users, desk
):
    """Four desks (signed-in clients) send the same QR code at the same moment."""
    from tests.conftest import Browser

    browsers = []
    for _ in range(4):
        browser = Browser(app.test_client())
        browser.sign_in("staff")
        page = browser.get(f"/desk/{desk['day_id']}").get_data(as_text=True)
        browsers.append((browser, csrf_token_from(page)))
    results: list[str] = []
    barrier = threading.Barrier(4)

    def scan(browser, token):
        barrier.wait()
        for _ in range(3):
            response = browser.client.post(
                f"/desk/{desk['day_id']}/check-in",
                data={"code": desk["hanako"][1]},
                headers={**JSON, "X-CSRFToken": token},
            )
            results.append(
                response.get_json()["result"] if response.is_json else str(response)
            )

    threads = [threading.Thread(target=scan, args=pair) for pair in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already"] * 11 + ["checked_in"]
    assert attendance_count(app, desk["day_id"]) == 1


def test_desk_posts_without_the_csrf_token_are_refused(app, desk, staff_desk):
    for path, data in (
        ("check-in", {"code": desk["hanako"][1]}),
        ("walk-ins", {"group": "citizen", "delta": "1"}),
    ):
        response = staff_desk.client.post(
            f"/desk/{desk['day_id']}/{path}", data=data, headers=JSON
        )
        assert response.status_code == 400, path
    assert attendance_count(app, desk["day_id"]) == 0
    with app.app_context():
        from crm.events.queries import desk_counts

        assert desk_counts(desk["day_id"])["citizens"] == 0


def test_control_characters_in_searches_and_scans_never_cause_an_error(
    app, desk, staff_desk
):
    """PostgreSQL refuses NUL in text: typed or scanned garbage must not reach it."""
    for url in (
        "/likers/?q=%00",
        "/likers/?q=%E3%81%9F%00",
        "/events/?q=%00",
        "/v/%00",
    ):
        assert staff_desk.get(url).status_code in (200, 302, 404), url
    for text in ("\x00", "YL-\x0000001", "た\x00か"):
        response = staff_desk.scan(text)
        assert response.status_code == 200
        assert response.get_json()["result"] in ("not_found", "choose", "checked_in")
