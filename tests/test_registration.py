"""The public registration form, end to end: what a person and the staff notice."""

import re

import pytest
from sqlalchemy import func, select

from crm import create_app
from crm.admin.services import ensure_settings
from crm.consents.models import ConsentRecord
from crm.events.models import Attendance
from crm.extensions import db
from crm.registration.models import Registration
from crm.registration.services import new_event_link
from crm.reports.queries import Period, liker_figures
from crm.supporters.models import Supporter
from crm.timeutil import today_jst
from tests.conftest import Browser, csrf_token_from
from tests.factories import make_event, make_supporter

FORM = {
    "family_name": "北海",
    "given_name": "太郎",
    "family_name_kana": "ホッカイ",
    "given_name_kana": "タロウ",
    "email": "taro@example.jp",
    "phone": "",
    "postal_code": "068-0403",
    "prefecture": "北海道",
    "municipality": "夕張市",
    "address": "本町1-1",
    "birth_date": "",
    "privacy_consent": "y",
    "news_opt_in": "y",
}


def set_review(app, on: bool) -> None:
    with app.app_context():
        ensure_settings().registration_review = on
        db.session.commit()


def fill_in(browser: Browser, url: str = "/join", **changes):
    """GET the form, then POST it with its CSRF token and submission key."""
    page = browser.get(url).get_data(as_text=True)
    key = re.search(
        r'id="submission_key" name="submission_key" type="hidden" value="([^"]+)"', page
    )
    ref = re.search(r'id="ref" name="ref" type="hidden" value="([^"]*)"', page)
    data = {
        "csrf_token": csrf_token_from(page),
        "submission_key": key.group(1),
        "ref": ref.group(1) if ref else "",
        **FORM,
    }
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    return browser.client.post(url, data=data), data


def supporters(app, **where):
    with app.app_context():
        query = select(Supporter)
        for name, value in where.items():
            query = query.where(getattr(Supporter, name) == value)
        return db.session.scalars(query.order_by(Supporter.id)).all()


def test_the_form_shows_the_notice_with_its_version_and_registers_at_once(app, browser):
    set_review(app, False)
    with app.app_context():
        settings = ensure_settings()
        settings.privacy_policy_version = "2.1"
        settings.privacy_policy_text = "利用目的の全文です。"
        db.session.commit()
    page = browser.get("/join").get_data(as_text=True)
    assert "利用目的の全文です。" in page and "2.1" in page
    assert 'autocomplete="family-name"' in page and 'name="website"' in page
    response, _data = fill_in(browser)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/join/done"
    )
    done = browser.get("/join/done").get_data(as_text=True)
    (liker,) = supporters(app)
    assert liker.status == "active" and liker.registration_number in done
    assert (
        liker.full_name == "北海 太郎"
        and liker.news_opt_in
        and not liker.show_name_publicly
    )
    with app.app_context():
        rows = db.session.scalars(
            select(ConsentRecord).order_by(ConsentRecord.id)
        ).all()
        assert [(r.kind, r.granted, r.channel, r.notice_version, r.recorded_by_id)
                for r in rows] == [("privacy_notice", True, "web", "2.1", None),
                                   ("news", True, "web", "2.1", None)]  # fmt: skip


def test_errors_are_japanese_tied_to_fields_and_keep_what_was_typed(app, browser):
    response, _data = fill_in(
        browser, family_name="", email="", phone="", privacy_consent=None,
        given_name_kana="taro",
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "「姓」を入力してください。" in page
    assert 'aria-describedby="family_name-error"' in page
    assert 'aria-invalid="true"' in page
    assert "登録するには利用目的への同意が必要です。" in page
    assert "メールアドレスか電話番号を入力してください。" in page
    assert 'value="太郎"' in page and 'value="068-0403"' in page  # kept
    assert supporters(app) == []


def test_the_honeypot_saves_nothing_but_looks_the_same(app, browser):
    response, _data = fill_in(browser, website="http://spam.example")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "ご登録ありがとうございます。" in page and "registration-number" not in page
    assert supporters(app) == []


def test_a_double_click_makes_one_liker_and_both_answers_show_the_number(app, browser):
    set_review(app, False)
    first, data = fill_in(browser)
    second = browser.client.post("/join", data=data)
    assert first.status_code == second.status_code == 302
    (liker,) = supporters(app)
    assert liker.registration_number in browser.get("/join/done").get_data(as_text=True)


def test_the_same_person_twice_from_two_pages_makes_one_liker(app, browser):
    set_review(app, False)
    fill_in(browser)
    other = Browser(app.test_client())  # another phone, the same person
    response, _data = fill_in(other, email="TARO@example.jp")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="already"' in page
    assert len(supporters(app)) == 1


def test_someone_already_registered_by_staff_waits_for_review(app, browser):
    set_review(app, False)
    with app.test_request_context():
        make_supporter(family_name="北海", given_name="太郎", family_name_kana="ホッカイ",
                       given_name_kana="タロウ", email="taro@example.jp")  # fmt: skip
        db.session.commit()
    fill_in(browser)
    assert [s.status for s in supporters(app)] == ["active", "pending"]


def test_the_rate_limit_holds_across_two_app_instances_on_one_database(
    app, browser, monkeypatch
):
    set_review(app, False)
    monkeypatch.setitem(app.config, "REGISTRATION_RATE_LIMIT", 3)
    other_app = create_app(
        {**{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "DATABASE_URL",
                                        "PUBLIC_BASE_URL")},
         "REGISTRATION_RATE_LIMIT": 3}
    )  # fmt: skip
    other = Browser(other_app.test_client())
    answers = []
    for n, client in enumerate([browser, other, browser, other]):
        response, _data = fill_in(client, email=f"p{n}@example.jp",
                                  family_name_kana=f"ホッカイ{'ア' * n}")  # fmt: skip
        answers.append(response.status_code)
    assert answers == [302, 302, 302, 429]
    page = response.get_data(as_text=True)
    assert "数分待ってから、もう一度送信してください。" in page
    assert 'value="p3@example.jp"' in page  # what was typed stays
    assert len(supporters(app)) == 3
    with other_app.app_context():
        db.engine.dispose()


@pytest.fixture
def pending(app, browser):
    set_review(app, True)
    response, _data = fill_in(browser)
    assert response.status_code == 302
    (liker,) = supporters(app, status="pending")
    return liker


def test_pending_registrations_appear_in_no_list_export_report_or_public_page(
    app, pending, signed_in, browser
):
    staff = signed_in("staff")
    assert "北海" not in staff.get("/likers/").get_data(as_text=True)
    assert "北海" not in staff.get("/likers/?status=all").get_data(as_text=True)
    export = staff.post_form(
        "/exports/likers", {"query": "status=all", "format": "csv",
                            "columns": ["number", "name"]}, token_from="/exports/likers",
    )  # fmt: skip
    assert "北海" not in export.get_data(as_text=True)
    with app.test_request_context():
        today = today_jst()
        figures = liker_figures(Period(today.replace(month=1, day=1), today, today))
        assert figures["registered"] == figures["new_in_period"] == 0
    assert browser.get(f"/v/{pending.public_token}").status_code == 404
    queue = staff.get("/registrations/").get_data(as_text=True)
    assert "北海 太郎" in queue and pending.registration_number in queue


def _review(staff, registration_id: int, action: str):
    return staff.post_form(f"/registrations/{registration_id}/{action}", {},
                           token_from="/registrations/")  # fmt: skip


def test_approving_makes_the_liker_active_and_listed(app, pending, signed_in):
    staff = signed_in("staff")
    with app.app_context():
        registration_id = db.session.scalar(select(Registration.id))
    assert _review(staff, registration_id, "approve").status_code == 302
    assert supporters(app)[0].status == "active"
    assert "北海" in staff.get("/likers/").get_data(as_text=True)
    again = _review(staff, registration_id, "approve")
    assert again.status_code == 302  # dealt with already: a warning, no error
    assert "この登録はすでに処理されています。" in staff.get(
        "/registrations/"
    ).get_data(as_text=True)


def test_rejecting_keeps_it_out_of_everything(app, pending, signed_in):
    staff = signed_in("staff")
    with app.app_context():
        registration_id = db.session.scalar(select(Registration.id))
    _review(staff, registration_id, "reject")
    assert supporters(app)[0].status == "rejected"
    assert "北海" not in staff.get("/likers/?status=all").get_data(as_text=True)
    assert "北海" not in staff.get("/registrations/").get_data(as_text=True)


def test_merging_into_the_existing_liker_keeps_one_record(app, browser, signed_in):
    set_review(app, False)
    with app.test_request_context():
        existing = make_supporter(family_name="北海", given_name="太郎",
                                  family_name_kana="ホッカイ", given_name_kana="タロウ",
                                  email="taro@example.jp", phone=None)  # fmt: skip
        existing_id = existing.id
        db.session.commit()
    fill_in(browser, phone="090-1111-2222")  # held: looks like a registered person
    staff = signed_in("staff")
    queue = staff.get("/registrations/").get_data(as_text=True)
    assert "登録済みの方と思われます" in queue and "に統合" in queue
    with app.app_context():
        registration_id = db.session.scalar(select(Registration.id))
    response = staff.post_form(
        f"/registrations/{registration_id}/merge/{existing_id}", {},
        token_from="/registrations/",
    )  # fmt: skip
    assert response.status_code == 302
    survivor, merged = supporters(app)
    assert (survivor.id, survivor.status, merged.status) == (
        existing_id,
        "active",
        "merged",
    )
    assert survivor.phone == "090-1111-2222"  # the new detail, where it had none
    with app.app_context():
        kinds = db.session.scalars(
            select(ConsentRecord.channel).where(
                ConsentRecord.supporter_id == existing_id
            )
        ).all()
        assert "web" in kinds  # the consent history went with the person


def test_a_referral_from_a_public_page_is_recorded_as_introduced_by(
    app, browser, signed_in
):
    set_review(app, False)
    with app.test_request_context():
        friend = make_supporter(family_name="紹介", given_name="者")
        token, friend_id, number = (
            friend.public_token,
            friend.id,
            friend.registration_number,
        )
        db.session.commit()
    public_page = browser.get(f"/v/{token}").get_data(as_text=True)
    join = re.search(r'id="join-link" href="([^"]+)"', public_page).group(1)
    assert f"ref={token}" in join
    fill_in(browser, url=join.replace("&amp;", "&"))
    new = supporters(app, email="taro@example.jp")[0]
    assert new.introduced_by_id == friend_id
    page = signed_in("staff").get(f"/likers/{new.id}").get_data(as_text=True)
    assert 'id="introduced-by"' in page and number in page


def test_an_unknown_referral_token_is_ignored(app, browser):
    set_review(app, False)
    fill_in(browser, url="/join?ref=NoSuchTokenAtAllAbCdEf")
    assert supporters(app)[0].introduced_by_id is None


def test_the_event_link_registers_and_checks_in_and_can_be_revoked(
    app, browser, signed_in
):
    set_review(app, False)
    with app.test_request_context():
        event = make_event(title="炭鉱まつり")
        event_id, day_id = event.id, event.days[0].id
        db.session.commit()
    staff = signed_in("staff")
    assert 'id="registration-link-page"' in staff.get(f"/events/{event_id}").get_data(
        as_text=True
    )
    staff.post_form(f"/registrations/events/{event_id}/link", {},
                    token_from=f"/registrations/events/{event_id}")  # fmt: skip
    page = staff.get(f"/registrations/events/{event_id}").get_data(as_text=True)
    url = re.search(r'id="registration-link">([^<]+)<', page).group(1)
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 22  # 128 random bits
    response, _data = fill_in(browser, url=f"/join/e/{token}")
    assert response.status_code == 302
    assert "checked-in" in browser.get("/join/done").get_data(as_text=True)
    (liker,) = supporters(app)
    with app.app_context():
        attendance = db.session.scalar(select(Attendance))
        assert (
            attendance.event_day_id,
            attendance.supporter_id,
            attendance.method,
        ) == (day_id, liker.id, "web")
    roster = staff.get(f"/events/{event_id}").get_data(as_text=True)
    assert liker.registration_number in roster
    staff.post_form(f"/registrations/events/{event_id}/link", {"action": "revoke"},
                    token_from=f"/registrations/events/{event_id}")  # fmt: skip
    assert browser.get(f"/join/e/{token}").status_code == 404


def test_with_review_the_event_check_in_waits_for_approval(app, browser, signed_in):
    set_review(app, True)
    with app.test_request_context():
        event = make_event(title="炭鉱まつり")
        token = new_event_link(event).token
        db.session.commit()
    fill_in(browser, url=f"/join/e/{token}")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
        registration_id = db.session.scalar(select(Registration.id))
    _review(signed_in("staff"), registration_id, "approve")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_the_poster_pdf_carries_the_event_link_as_a_qr_code(app, signed_in, tmp_path):
    import shutil
    import subprocess

    with app.test_request_context():
        event = make_event(title="炭鉱まつり")
        token = new_event_link(event).token
        event_id = event.id
        db.session.commit()
    response = signed_in("staff").get(f"/registrations/events/{event_id}/poster.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    if not (shutil.which("pdftoppm") and shutil.which("zbarimg")):
        pytest.skip("pdftoppm or zbarimg missing")
    (tmp_path / "poster.pdf").write_bytes(response.data)
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile",
                    str(tmp_path / "poster.pdf"), str(tmp_path / "poster")], check=True)  # fmt: skip
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "poster.png")],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert decoded == f"https://likers.example.jp/join/e/{token}"
    assert (
        signed_in("viewer")
        .get(f"/registrations/events/{event_id}/poster.pdf")
        .status_code
        == 403
    )


def test_no_poster_is_printed_whose_code_points_to_this_pc(app, signed_in, monkeypatch):
    """As for cards: people's phones cannot reach 127.0.0.1."""
    with app.test_request_context():
        event = make_event(title="炭鉱まつり")
        new_event_link(event)
        event_id = event.id
        db.session.commit()
    staff = signed_in("staff")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    monkeypatch.setattr(app, "testing", False)
    response = staff.get(f"/registrations/events/{event_id}/poster.pdf")
    assert response.status_code == 302
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "CRM_PUBLIC_BASE_URL" in page
