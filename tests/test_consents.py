"""Consent records: every channel writes them, withdrawal takes effect at once."""

import csv
import io

import pytest
from sqlalchemy import select

from crm.consents.services import (
    ConsentError,
    consents_of,
    current_consents,
    withdraw_consent,
)
from crm.extensions import db
from crm.imports.columns import guess_mapping
from crm.imports.reading import read_table
from crm.imports.services import check_likers, commit_likers
from crm.supporters.merge import _data_of
from crm.supporters.models import Supporter
from crm.supporters.services import update_supporter
from tests.conftest import csrf_token_from
from tests.factories import make_event, make_supporter


def rows_of(app, supporter_id):
    with app.app_context():
        return [
            (r.kind, r.granted, r.channel, r.recorded_by_id is not None)
            for r in consents_of(supporter_id)
        ]


def test_the_staff_form_records_the_notice_and_each_opt_in(app, signed_in):
    staff = signed_in("staff")
    staff.post_form("/likers/new", {
        "family_name": "紙", "given_name": "花子", "family_name_kana": "カミ",
        "given_name_kana": "ハナコ", "registered_on": "2025-04-01",
        "privacy_consent": "y", "show_name_publicly": "y",
    })  # fmt: skip
    with app.app_context():
        liker = db.session.scalar(select(Supporter))
        version = liker.privacy_policy_version
    assert rows_of(app, liker.id) == [
        ("privacy_notice", True, "staff", True), ("public_name", True, "staff", True),
    ]  # fmt: skip
    with app.app_context():
        assert {r.notice_version for r in consents_of(liker.id)} == {version}


def test_the_desk_records_consents_with_channel_desk(app, signed_in):
    with app.test_request_context():
        day_id = make_event().days[0].id
        db.session.commit()
    staff = signed_in("staff")
    token = csrf_token_from(staff.get(f"/desk/{day_id}").get_data(as_text=True))
    response = staff.client.post(
        f"/desk/{day_id}/register",
        data={"family_name": "受付", "given_name": "一郎", "family_name_kana": "ウケツケ",
              "given_name_kana": "イチロウ", "privacy_consent": "y", "news_opt_in": "y"},
        headers={"Accept": "application/json", "X-CSRFToken": token},
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    supporter_id = response.get_json()["supporter"]["id"]
    assert rows_of(app, supporter_id) == [
        ("privacy_notice", True, "desk", True), ("news", True, "desk", True),
    ]  # fmt: skip


def test_an_import_records_consents_with_channel_import(app, users):
    data = ("姓,名,セイ,メイ,メールアドレス,ニュース希望\n"
            "取込,一郎,トリコミ,イチロウ,a@example.jp,はい\n"
            "取込,二郎,トリコミ,ジロウ,b@example.jp,いいえ\n").encode()  # fmt: skip
    with app.test_request_context():
        from crm.auth.models import User

        user = db.session.get(User, users["staff"])
        table = read_table(data, "likers.csv", "auto")
        mapping = guess_mapping(table.headers)
        assert not check_likers(table, mapping).problems
        result = commit_likers(table, mapping, {}, user)
        db.session.commit()
        ids = sorted(result.created)
    assert rows_of(app, ids[0]) == [
        ("privacy_notice", True, "import", True), ("news", True, "import", True),
    ]  # fmt: skip
    assert rows_of(app, ids[1]) == [("privacy_notice", True, "import", True)]


def test_an_edit_that_switches_an_opt_in_is_recorded(ctx):
    liker = make_supporter(news_opt_in=True)
    data = _data_of(liker)
    data.news_opt_in = False
    data.show_name_publicly = True
    update_supporter(liker, data)
    current = current_consents(liker.id)
    assert current["news"].granted is False and current["public_name"].granted is True


def test_withdrawing_news_drops_the_person_from_the_mailing_column_at_once(
    app, signed_in
):
    with app.test_request_context():
        liker = make_supporter(news_opt_in=True, email="news@example.jp")
        liker_id = liker.id
        db.session.commit()
    staff = signed_in("staff")
    page = staff.get(f"/likers/{liker_id}").get_data(as_text=True)
    assert 'id="withdraw-news"' in page and 'id="consent-history"' in page
    response = staff.post_form(
        f"/likers/{liker_id}/consents/news/withdraw",
        {},
        token_from=f"/likers/{liker_id}",
    )
    assert response.status_code == 302
    export = staff.post_form(
        "/exports/likers",
        {"query": "", "format": "csv", "columns": ["email", "news_opt_in"]},
        token_from="/exports/likers",
    )
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert rows[1] == ["news@example.jp", "いいえ"]
    page = staff.get(f"/likers/{liker_id}").get_data(as_text=True)
    assert 'id="withdraw-news"' not in page and "撤回" in page
    with app.app_context():
        last = consents_of(liker_id)[-1]
        assert (last.kind, last.granted, last.channel) == ("news", False, "staff")


def test_withdrawing_the_public_name_hides_it_on_the_public_page(app, signed_in):
    with app.test_request_context():
        liker = make_supporter(show_name_publicly=True)
        liker_id, token = liker.id, liker.public_token
        db.session.commit()
    public = app.test_client()
    assert "夕張 花子" in public.get(f"/v/{token}").get_data(as_text=True)
    signed_in("staff").post_form(
        f"/likers/{liker_id}/consents/public_name/withdraw", {},
        token_from=f"/likers/{liker_id}",
    )  # fmt: skip
    page = public.get(f"/v/{token}").get_data(as_text=True)
    assert "夕張 花子" not in page and "登録番号" in page


def test_a_consent_not_given_cannot_be_withdrawn(ctx):
    liker = make_supporter(news_opt_in=False)
    with pytest.raises(ConsentError):
        withdraw_consent(liker, "news")
    with pytest.raises(ConsentError):
        withdraw_consent(liker, "privacy_notice")
    assert liker.news_opt_in is False


def test_viewers_cannot_withdraw_a_consent(app, signed_in):
    with app.test_request_context():
        liker = make_supporter(news_opt_in=True)
        liker_id = liker.id
        db.session.commit()
    viewer = signed_in("viewer")
    token = csrf_token_from(viewer.get("/likers/").get_data(as_text=True))
    denied = viewer.client.post(
        f"/likers/{liker_id}/consents/news/withdraw", data={"csrf_token": token}
    )
    assert denied.status_code == 403
    with app.app_context():
        assert db.session.get(Supporter, liker_id).news_opt_in is True
        assert current_consents(liker_id)["news"].granted is True
