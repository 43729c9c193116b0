"""The page behind a Liker's QR code, as anyone with a phone sees it."""

import base64
from datetime import date

from crm.extensions import db
from crm.supporters.services import withdraw_supporter
from tests.factories import make_supporter


def _liker(app, **overrides):
    with app.test_request_context():
        supporter = make_supporter(registered_on=date(2019, 5, 1), **overrides)
        db.session.commit()
        return supporter.id, supporter.public_token, supporter.registration_number


def _main(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


def test_the_public_page_confirms_the_registration_without_personal_data(app):
    _id, token, number = _liker(app)
    response = app.test_client().get(f"/v/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "この方は夕張Likers!に登録されています。" in page
    assert number in page and "令和元年5月1日" in page
    # No consent to show the name: no name, no kana, no address.
    for private in ("夕張 花子", "花子", "ユウバリ", "ハナコ", "北海道"):
        assert private not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_the_name_shows_only_with_consent(app):
    _id, token, _number = _liker(app, show_name_publicly=True)
    page = app.test_client().get(f"/v/{token}").get_data(as_text=True)
    assert "夕張 花子 様" in page
    assert "ユウバリ" not in page  # the name, not more


def test_unknown_withdrawn_and_reissued_tokens_all_say_no_longer_valid(app, signed_in):
    supporter_id, token, _number = _liker(app)
    gone_id, gone_token, _ = _liker(app, family_name="退会")
    with app.test_request_context():
        from crm.supporters.models import Supporter

        withdraw_supporter(db.session.get(Supporter, gone_id), date(2026, 1, 1), None)
        db.session.commit()
    staff = signed_in("staff")
    staff.post_form(
        f"/likers/{supporter_id}/reissue-token", token_from=f"/likers/{supporter_id}"
    )
    visitor = app.test_client()
    answers = [
        visitor.get(f"/v/{t}")
        for t in (token, gone_token, "A" * 22, "x", "%00", "💥" * 10)
    ]
    assert {a.status_code for a in answers} == {404}
    bodies = {_main(a.get_data(as_text=True)) for a in answers}
    assert len(bodies) == 1  # the same page whatever the reason
    assert "このQRコードは無効です。" in bodies.pop()
    # The new token works, and the desk accepts it instead of the old one.
    with app.app_context():
        from crm.supporters.models import Supporter

        new_token = db.session.get(Supporter, supporter_id).public_token
    assert new_token != token
    assert visitor.get(f"/v/{new_token}").status_code == 200
    with app.app_context():
        from crm.audit.models import AuditEntry

        actions = [
            e.action
            for e in db.session.query(AuditEntry).filter_by(object_id=supporter_id)
        ]
        assert "reissue_token" in actions


def test_signed_in_staff_who_scan_a_card_get_the_record(app, signed_in):
    supporter_id, token, _number = _liker(app)
    response = signed_in("viewer").get(f"/v/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/likers/{supporter_id}"


def test_tokens_are_unguessable(app):
    tokens = [_liker(app, given_name=str(i))[1] for i in range(20)]
    assert len(set(tokens)) == 20
    for token in tokens:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128


def test_viewers_cannot_reissue_a_token(app, signed_in):
    supporter_id, token, _number = _liker(app)
    viewer = signed_in("viewer")
    response = viewer.post_form(
        f"/likers/{supporter_id}/reissue-token", token_from=f"/likers/{supporter_id}"
    )
    assert response.status_code == 403
    assert app.test_client().get(f"/v/{token}").status_code == 200
