from sqlalchemy import select

from crm.admin.models import TownSettings
from crm.auth.models import User
from crm.extensions import db
from crm.supporters.models import Category, Supporter
from tests.factories import make_supporter

SETTINGS = {
    "municipality_name": "栗山町",
    "local_government_code": "014290",
    "prefecture": "北海道",
    "programme_name": "くりやまファン",
    "supporter_word": "ファン",
    "mayor_title": "栗山町長",
    "mayor_name": "山田 太郎",
    "number_prefix": "KF",
    "number_digits": "4",
    "privacy_policy_version": "2.0",
}


def test_a_wrong_local_government_code_is_explained_and_nothing_is_saved(
    app, signed_in
):
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/settings", dict(SETTINGS, local_government_code="014291")
    )
    page = response.get_data(as_text=True)
    assert "検査数字" in page and 'value="栗山町"' in page
    with app.app_context():
        assert db.session.scalar(select(TownSettings)).municipality_name == "夕張市"


def test_changing_the_town_rederives_where_likers_live_and_renames_the_programme(
    app, signed_in
):
    with app.test_request_context():
        yubari = make_supporter()
        kuriyama = make_supporter(municipality="夕張郡栗山町")
        db.session.commit()
        ids = yubari.id, kuriyama.id
    admin = signed_in("admin")
    assert admin.post_form("/admin/settings", SETTINGS).status_code == 302
    with app.app_context():
        assert db.session.get(Supporter, ids[0]).residence == "in_prefecture"
        assert db.session.get(Supporter, ids[1]).residence == "in_town"
    page = admin.get("/likers/").get_data(as_text=True)
    assert "くりやまファン" in page and "ファン 一覧" in page
    assert "町内" in admin.get(f"/likers/{ids[1]}").get_data(as_text=True)
    with app.test_request_context():
        new = make_supporter()  # the counter goes on; only the format changed
        assert new.registration_number == "KF0003"


def test_admin_adds_a_category_that_staff_can_then_choose(app, signed_in):
    admin = signed_in("admin")
    admin.post_form("/admin/lists/categories", {"name": "大学の同窓生", "active": "y"})
    form = signed_in("staff").get("/likers/new").get_data(as_text=True)
    assert "大学の同窓生" in form
    duplicate = admin.post_form(
        "/admin/lists/categories", {"name": "大学の同窓生", "active": "y"}
    )
    assert "既に一覧にあります" in duplicate.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(
                select(Category).where(Category.name == "大学の同窓生")
            ).position
            == 9
        )


def test_admin_creates_a_viewer_account_who_can_then_sign_in(app, signed_in, browser):
    admin = signed_in("admin")
    response = admin.post_form(
        "/admin/users/new",
        {
            "email": "Kansa@Example.jp",
            "name": "監査 担当",
            "role": "viewer",
            "active": "y",
            "password": "a-long-enough-password",
        },
    )
    assert response.status_code == 302
    login = browser.post_form(
        "/login", {"email": "kansa@example.jp", "password": "a-long-enough-password"}
    )
    assert login.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "kansa@example.jp"))
        assert user.role == "viewer" and user.last_login_at is not None


def test_short_passwords_are_refused(signed_in):
    response = signed_in("admin").post_form(
        "/admin/users/new",
        {"email": "a@example.jp", "name": "A", "role": "staff", "password": "short"},
    )
    assert response.status_code == 200
    assert "12" in response.get_data(as_text=True)


def test_settings_page_names_the_residence_groups_in_the_towns_words(signed_in):
    page = signed_in("admin").get("/admin/settings").get_data(as_text=True)
    assert "市内・道内・道外・海外・不明" in page  # Yubari is a 市 in 北海道
