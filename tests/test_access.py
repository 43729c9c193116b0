"""Every route, every role: signed-out users go to sign-in, too-low roles get 403."""

import pytest

from crm.auth.permissions import required_role_for
from crm.events.services import add_guest, check_in
from crm.partners.services import PartnerData, save_partner
from crm.societies.services import SocietyData, add_member, save_society
from tests.conftest import PASSWORD, csrf_token_from
from tests.factories import make_event, make_supporter

# The one place that says who may use what. A new route missing here fails the test.
EXPECTED_ROLES = {
    "static": None,
    "bootstrap.static": None,
    "auth.login": None,
    "auth.logout": None,
    "auth.change_password": "viewer",
    "main.set_language": None,
    "main.home": "viewer",
    "main.healthz": None,
    "public.liker": None,
    "registration.join": None,
    "registration.join_event": None,
    "registration.done": None,
    "registration.postal_lookup": None,
    "registration.queue": "staff",
    "registration.approve_view": "staff",
    "registration.reject_view": "staff",
    "registration.merge_view": "staff",
    "registration.event_link_page": "staff",
    "registration.renew_link": "staff",
    "registration.poster": "staff",
    "registration.withdraw_consent_view": "staff",
    "supporters.index": "viewer",
    "supporters.show": "viewer",
    "supporters.new": "staff",
    "supporters.edit": "staff",
    "supporters.withdraw": "staff",
    "supporters.reinstate": "staff",
    "rights.disclosure": "admin",
    "rights.stop": "staff",
    "rights.resume": "staff",
    "rights.erase_data": "admin",
    "rights.stopped": "staff",
    "supporters.reissue_token": "staff",
    "supporters.merge": "staff",
    "supporters.merge_with": "staff",
    "postal.lookup": "viewer",
    "events.index": "viewer",
    "events.show": "viewer",
    "events.sheet": "viewer",
    "events.new": "staff",
    "events.edit": "staff",
    "events.walk_ins": "staff",
    "events.new_guest": "staff",
    "events.delete_guest": "staff",
    "events.undo": "staff",
    "events.attendance_role": "staff",
    "events.delete": "staff",
    "desk.index": "staff",
    "desk.show": "staff",
    "desk.check_in_view": "staff",
    "desk.register": "staff",
    "desk.walk_ins": "staff",
    "desk.status": "staff",
    "societies.index": "viewer",
    "societies.show": "viewer",
    "societies.new": "staff",
    "societies.edit": "staff",
    "societies.add_member_by_number": "staff",
    "societies.join": "staff",
    "societies.remove_member_view": "staff",
    "documents.cards": "staff",
    "documents.calibration": "staff",
    "documents.certificates": "staff",
    "documents.image": "staff",
    "documents.settings": "admin",
    "documents.preview": "admin",
    "documents.upload_image": "admin",
    "documents.delete_image": "admin",
    "jobs.index": "staff",
    "reports.index": "viewer",
    "imports.index": "staff",
    "imports.template": "staff",
    "imports.columns": "staff",
    "imports.preview": "staff",
    "imports.errors": "staff",
    "imports.commit": "staff",
    "reports.download": "viewer",
    "exports.likers": "staff",
    "exports.likers_download": "staff",
    "exports.roster": "staff",
    "jobs.show": "staff",
    "jobs.status": "staff",
    "jobs.download": "staff",
    "partners.index": "viewer",
    "partners.show": "viewer",
    "partners.new": "staff",
    "partners.edit": "staff",
    "admin.index": "admin",
    "audit.index": "admin",
    "audit.contents": "admin",
    "admin.users": "admin",
    "admin.new_user": "admin",
    "admin.edit_user": "admin",
    "admin.reference_list": "admin",
    "admin.edit_reference_item": "admin",
    "admin.settings": "admin",
}
RANK = {"viewer": 0, "staff": 1, "admin": 2}


def test_every_route_is_in_the_access_matrix(app):
    with app.test_request_context():
        actual = {
            rule.endpoint: required_role_for(rule.endpoint)
            for rule in app.url_map.iter_rules()
        }
    assert actual == EXPECTED_ROLES


def _urls(app, ids, user_id):
    """A concrete URL and its methods for every rule."""
    values = {
        **ids,
        "user_id": user_id,
        "other_id": 1,
        "registration_id": 1,
        "item_id": 1,
        "kind": "categories",
        "code": "0680403",
        "token": "AbCdEfGhIjKlMnOpQrStUv",
        "filename": "app.css",
        "public_id": "NoSuchJobAbCdEfGhIjKl",
        "fmt": "json",
        "entry_id": 1,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        args = {name: values[name] for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((rule.endpoint, method, url))
    return urls


@pytest.fixture
def records(app):
    """One of everything a URL can name, with ids that belong together."""
    with app.test_request_context():
        from crm.extensions import db

        supporter = make_supporter()
        event = make_event(days=1)
        day = event.days[0]
        attendance = check_in(day, supporter).attendance
        guest = add_guest(day, "citizen", "夕張 太郎")
        society = save_society(None, SocietyData(name="東京夕張会"))
        add_member(society, supporter.id)
        partner = save_partner(None, PartnerData(name="NPO法人テスト"))
        db.session.commit()
        return {
            "supporter_id": supporter.id,
            "event_id": event.id,
            "day_id": day.id,
            "attendance_id": attendance.id,
            "guest_id": guest.id,
            "society_id": society.id,
            "partner_id": partner.id,
        }


@pytest.fixture
def supporter_id(records):
    return records["supporter_id"]


def test_signed_out_visitors_are_sent_to_sign_in(app, users, records):
    client = app.test_client()
    for endpoint, method, url in _urls(app, records, users["staff"]):
        if EXPECTED_ROLES[endpoint] is None:
            continue
        response = client.open(url, method=method)
        if method == "POST":  # CSRF is checked before anything else
            assert response.status_code in (302, 400), (endpoint, method)
        else:
            assert response.status_code == 302, (endpoint, method)
            assert response.headers["Location"].startswith("/login"), endpoint


@pytest.mark.parametrize("role", ["viewer", "staff", "admin"])
def test_each_role_reaches_exactly_its_routes(app, signed_in, users, records, role):
    browser = signed_in(role)
    token = csrf_token_from(browser.get("/likers/").get_data(as_text=True))
    for endpoint, method, url in _urls(app, records, users["staff"]):
        needed = EXPECTED_ROLES[endpoint]
        if needed is None or endpoint == "main.home":
            continue
        if method == "POST":
            response = browser.client.post(url, data={"csrf_token": token})
        else:
            response = browser.get(url)
        allowed = RANK[role] >= RANK[needed]
        if allowed:
            assert response.status_code != 403, (role, endpoint, method)
            assert response.status_code < 500, (role, endpoint, method)
        else:
            assert response.status_code == 403, (role, endpoint, method)


def test_viewer_sees_no_edit_buttons(signed_in, supporter_id):
    page = signed_in("viewer").get(f"/likers/{supporter_id}").get_data(as_text=True)
    assert "/edit" not in page and "新規登録" not in page


def test_post_without_csrf_token_is_rejected(app, signed_in, supporter_id):
    staff = signed_in("staff")
    response = staff.client.post(
        "/likers/new",
        data={
            "family_name": "山田",
            "given_name": "太郎",
            "family_name_kana": "ヤマダ",
            "given_name_kana": "タロウ",
            "registered_on": "2025-01-01",
            "privacy_consent": "y",
        },
    )
    assert response.status_code == 400
    assert "もう一度" in response.get_data(as_text=True)


def test_sign_in_itself_needs_a_csrf_token(app, users):
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": "staff@example.jp", "password": PASSWORD},
    )
    assert response.status_code == 400
    assert client.get("/likers/").status_code == 302


def test_wrong_password_is_refused_with_a_japanese_message(browser, users):
    response = browser.post_form(
        "/login", {"email": "staff@example.jp", "password": "wrong password!"}
    )
    assert response.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありません" in response.get_data(
        as_text=True
    )
    assert browser.get("/likers/").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(
    browser, users
):
    response = browser.sign_in("staff", next="/likers/?q=abc")
    assert response.headers["Location"] == "/likers/?q=abc"
    browser.post_form("/logout", {}, token_from="/likers/")
    response = browser.sign_in("staff", next="https://evil.example.com/")
    assert response.headers["Location"] == "/likers/"


def test_sign_out_ends_the_session(signed_in):
    staff = signed_in("staff")
    assert staff.get("/likers/").status_code == 200
    staff.post_form("/logout", {}, token_from="/likers/")
    assert staff.get("/likers/").status_code == 302


def test_disabled_accounts_cannot_sign_in(app, browser, users):
    from crm.auth.models import User
    from crm.extensions import db

    with app.app_context():
        db.session.get(User, users["staff"]).active = False
        db.session.commit()
    response = browser.post_form(
        "/login", {"email": "staff@example.jp", "password": PASSWORD}
    )
    assert response.status_code == 200 and browser.get("/likers/").status_code == 302


def test_personal_pages_are_not_cached(signed_in, supporter_id):
    response = signed_in("viewer").get(f"/likers/{supporter_id}")
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
