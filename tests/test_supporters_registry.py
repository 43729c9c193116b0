import re
from datetime import date

from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.supporters.models import Category, Channel, Supporter
from crm.supporters.services import (
    derive_residence,
    update_supporter,
)
from tests.factories import make_supporter, supporter_data

FORM = {
    "family_name": "𠮷田",
    "given_name": "髙子",
    "family_name_kana": "ﾖｼﾀﾞ",
    "given_name_kana": "たかこ",
    "email": "yoshida@example.jp",
    "phone": "090-1234-5678",
    "postal_code": "0680403",
    "prefecture": "北海道",
    "municipality": "夕張市",
    "address": "本町4丁目1-2",
    "birth_date": "昭和55年4月1日",
    "registered_on": "2025-06-01",
    "channel_id": "0",
    "privacy_consent": "y",
    "news_opt_in": "y",
    "tags": "東京夕張会, 2025夏",
}


def test_staff_registers_a_liker_with_rare_kanji_and_finds_them_again(app, signed_in):
    staff = signed_in("staff")
    response = staff.post_form("/likers/new", FORM)
    assert response.status_code == 302
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "𠮷田 髙子" in page
    assert "YL-00001" in page
    assert "昭和55年4月1日" in page  # era date shown beside the Western one
    with app.app_context():
        supporter = db.session.scalar(select(Supporter))
        assert supporter.family_name == "𠮷田"  # stored exactly as typed
        assert supporter.family_name_kana == "ﾖｼﾀﾞ"
        assert supporter.birth_date == date(1980, 4, 1) and supporter.birth_year == 1980
        assert supporter.residence == "in_town"
        assert supporter.postal_code == "068-0403"
        assert supporter.privacy_policy_version == "1.0"
        assert sorted(t.name for t in supporter.tags) == ["2025夏", "東京夕張会"]
    for query in (
        "よしだ",
        "ヨシダ",
        "ﾖｼﾀﾞ",
        "𠮷田",
        "吉田",
        "09012345678",
        "090-1234-5678",
        "YL-00001",
        "yoshida@",
    ):
        listing = staff.get("/likers/", query_string={"q": query}).get_data(
            as_text=True
        )
        assert "𠮷田 髙子" in listing, query


def test_a_failed_save_keeps_what_was_typed_and_explains_in_japanese(app, signed_in):
    staff = signed_in("staff")
    data = dict(
        FORM,
        family_name_kana="Yoshida",
        email="not-an-email",
        birth_date="平成31年5月1日",
    )
    data.pop("privacy_consent")
    response = staff.post_form("/likers/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ひらがなかカタカナで入力してください" in page
    assert "本人の同意" in page
    assert "昭和55年4月1日" in page or "平成31年5月1日" in page
    assert (
        'value="𠮷田"' in page
        and 'value="髙子"' in page
        and 'value="not-an-email"' in page
    )
    assert 'value="平成31年5月1日"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Supporter.id))) == 0
    data.pop("given_name")
    page = staff.post_form("/likers/new", data).get_data(as_text=True)
    assert "「名」を入力してください。" in page


def test_viewing_a_liker_is_written_to_the_audit_log(app, signed_in, ctx):
    supporter = make_supporter()
    db.session.commit()
    viewer = signed_in("viewer")
    assert viewer.get(f"/likers/{supporter.id}").status_code == 200
    db.session.expire_all()
    actions = db.session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.object_id == supporter.id, AuditEntry.object_type == "supporter"
        )
    ).all()
    assert "view" in actions and "create" in actions


def test_edit_records_which_fields_changed_but_not_their_values(ctx):
    supporter = make_supporter(email="old@example.jp")
    data = supporter_data(
        prefecture="東京都", municipality="新宿区", email="new@example.jp"
    )
    changed = update_supporter(supporter, data)
    assert set(changed) >= {"prefecture", "municipality", "email"}
    assert supporter.residence == "outside_prefecture"
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "update")
    ).one()
    assert (
        "new@example.jp" not in str(entry.details)
        and "email" in entry.details["fields"]
    )


def listed_names(browser, **query) -> set[str]:
    page = browser.get("/likers/", query_string=query).get_data(as_text=True)
    return set(re.findall(r'class="fs-5 name">([^<]+)<', page))


def test_withdrawn_likers_leave_the_active_list_but_stay_on_record(app, signed_in):
    with app.test_request_context():
        supporter = make_supporter(family_name="別府", family_name_kana="ベップ")
        db.session.commit()
        supporter_id = supporter.id
    staff = signed_in("staff")
    response = staff.post_form(
        f"/likers/{supporter_id}/withdraw",
        {"withdrawn_on": "2025-10-01", "reason": "本人の申し出"},
    )
    assert response.status_code == 302
    assert listed_names(staff) == set()
    assert listed_names(staff, status="withdrawn") == {"別府 花子"}
    page = staff.get(f"/likers/{supporter_id}").get_data(as_text=True)
    assert "2025年10月1日" in page and "本人の申し出" in page
    staff.post_form(
        f"/likers/{supporter_id}/reinstate", {}, token_from=f"/likers/{supporter_id}"
    )
    assert listed_names(staff) == {"別府 花子"}


def test_residence_is_derived_from_the_address_and_the_town(ctx):
    from crm.admin.services import get_settings

    town = get_settings()
    assert derive_residence("北海道", "夕張市", None, town) == "in_town"
    assert derive_residence("北海道", "札幌市中央区", None, town) == "in_prefecture"
    assert derive_residence("東京都", "新宿区", None, town) == "outside_prefecture"
    assert derive_residence(None, None, "アメリカ合衆国", town) == "overseas"
    assert derive_residence("北海道", "夕張市", "日本", town) == "in_town"
    assert derive_residence(None, None, None, town) == "unknown"


def test_list_filters_by_category_residence_and_registration_date(app, signed_in):
    with app.test_request_context():
        furusato = db.session.scalar(
            select(Category).where(Category.name == "ふるさと納税者")
        )
        make_supporter(
            family_name="納税",
            family_name_kana="ノウゼイ",
            prefecture="東京都",
            municipality="新宿区",
            category_ids=[furusato.id],
            registered_on=date(2025, 5, 1),
        )
        make_supporter(
            family_name="市内",
            family_name_kana="シナイ",
            registered_on=date(2024, 5, 1),
        )
        db.session.commit()
        category_id = furusato.id
    viewer = signed_in("viewer")

    def names(**query):
        return listed_names(viewer, **query)

    assert names(category=category_id) == {"納税 花子"}
    assert names(residence="in_town") == {"市内 花子"}
    assert names(residence="outside_prefecture") == {"納税 花子"}
    assert names(**{"from": "2025-01-01", "to": "2025-12-31"}) == {"納税 花子"}
    assert names() == {"納税 花子", "市内 花子"}


def test_list_sorts_by_kana_by_default(app, signed_in):
    with app.test_request_context():
        for family, kana in (("和田", "ワダ"), ("安藤", "アンドウ"), ("髙山", "ﾀｶﾔﾏ")):
            make_supporter(family_name=family, family_name_kana=kana)
        db.session.commit()
    page = signed_in("viewer").get("/likers/").get_data(as_text=True)
    order = re.findall(r'class="fs-5 name">([^<]+)<', page)
    assert order == ["安藤 花子", "髙山 花子", "和田 花子"]


def test_unknown_liker_is_404(signed_in):
    assert signed_in("viewer").get("/likers/999999").status_code == 404


def test_compatibility_ideographs_and_variation_selectors_survive_unchanged(
    app, signed_in
):
    nagisa = "\ufa46"  # 渚 as a CJK compatibility ideograph: NFC would rewrite it
    kuzu = "葛\U000e0100"  # 葛 with an ideographic variation selector
    staff = signed_in("staff")
    response = staff.post_form(
        "/likers/new",
        dict(
            FORM,
            family_name=kuzu + "西",
            given_name=nagisa,
            family_name_kana="ｸｽﾞﾆｼ",
            given_name_kana="なぎさ",
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        supporter = db.session.scalar(select(Supporter))
        assert supporter.family_name == kuzu + "西" and supporter.given_name == nagisa
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert kuzu + "西 " + nagisa in page
    assert listed_names(staff, q="葛西") == {
        kuzu + "西 " + nagisa
    }  # found without the selector


def test_staff_edit_keeps_categories_channel_and_tags(app, signed_in):
    with app.test_request_context():
        categories = db.session.scalars(
            select(Category).order_by(Category.position)
        ).all()
        supporter = make_supporter(
            category_ids=[categories[0].id], tag_names=["東京夕張会"]
        )
        db.session.commit()
        supporter_id = supporter.id
        second_category = categories[1].id
        channel_id = db.session.scalars(
            select(Channel.id).order_by(Channel.position)
        ).all()[1]
    staff = signed_in("staff")
    form = staff.get(f"/likers/{supporter_id}/edit").get_data(as_text=True)
    assert 'value="ユウバリ"' in form and 'value="東京夕張会"' in form
    response = staff.post_form(
        f"/likers/{supporter_id}/edit",
        {
            "family_name": "夕張",
            "given_name": "花子",
            "family_name_kana": "ユウバリ",
            "given_name_kana": "ハナコ",
            "prefecture": "東京都",
            "municipality": "新宿区",
            "registered_on": "2024-04-01",
            "channel_id": str(channel_id),
            "category_ids": [str(second_category)],
            "tags": "東京夕張会, 2025夏",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        supporter = db.session.get(Supporter, supporter_id)
        assert [c.id for c in supporter.categories] == [second_category]
        assert supporter.channel_id == channel_id
        assert supporter.residence == "outside_prefecture"
        assert {t.name for t in supporter.tags} == {"東京夕張会", "2025夏"}
        assert supporter.registration_number == "YL-00001"  # editing never renumbers
    page = staff.get(f"/likers/{supporter_id}/edit").get_data(as_text=True)
    assert re.search(
        rf'<option (selected value="{channel_id}"|value="{channel_id}" selected)>', page
    )


def test_the_form_shows_the_privacy_notice_the_person_agrees_to(signed_in):
    page = signed_in("staff").get("/likers/new").get_data(as_text=True)
    assert "個人情報の取扱い（第1.0版）を読む" in page
    assert "目的外に利用したり第三者に提供したりすることはありません" in page
