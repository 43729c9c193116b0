"""A guest registers on their own phone through the event's QR poster link.

Headless Chromium at 390×844 (a phone): the form fits without sideways
scrolling, the postal code fills in the address, errors are read next to their
field, and after sending the person has a registration number and is on the
event's roster, checked in. Uses the fixtures of test_browser.py.
"""

import pytest
from sqlalchemy import select

from crm.admin.services import ensure_settings
from crm.events.models import Attendance
from crm.extensions import db
from crm.registration.services import new_event_link
from tests.factories import make_event
from tests.test_browser import PageWatch, chromium, live_server, sign_in  # noqa: F401, F811

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the chromium fixture skips the test
    expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(chromium, live_server):  # noqa: F811 - fixtures from test_browser
    context = chromium.new_context(
        base_url=live_server, locale="ja-JP", timezone_id="Asia/Tokyo",
        viewport={"width": 390, "height": 844}, device_scale_factor=2,
        is_mobile=True, has_touch=True,
    )  # fmt: skip
    context.set_default_timeout(5_000)
    watch = PageWatch(context, live_server)
    page = context.new_page()
    try:
        yield page, watch
    finally:
        context.close()


def test_a_guest_registers_on_a_phone_via_the_event_link_and_is_checked_in(
    app,
    users,
    phone,
    tmp_path,
):
    with app.test_request_context():
        ensure_settings().registration_review = False
        event = make_event(title="炭鉱まつり")
        token = new_event_link(event).token
        event_id, day_id = event.id, event.days[0].id
        db.session.commit()
    page, watch = phone
    page.goto(f"/join/e/{token}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("登録フォーム")
    expect(page.locator("#reg-event")).to_contain_text("炭鉱まつり")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("姓", exact=True).fill("炭鉱")
    page.get_by_label("名", exact=True).fill("花子")
    page.get_by_role("button", name="登録する").tap()
    # Nothing saved; the error sits under its field, the cursor goes to it.
    error = page.locator("#family_name_kana-error")
    expect(error).to_be_visible()
    kana = page.locator("#family_name_kana")
    assert kana.get_attribute("aria-describedby") == "family_name_kana-error"
    assert kana.get_attribute("aria-invalid") == "true"
    expect(kana).to_be_focused()
    expect(error).to_contain_text("入力してください")
    expect(page.locator("#family_name")).to_have_value("炭鉱")  # kept
    page.screenshot(path=str(tmp_path / "errors.png"), full_page=True)
    page.locator("#family_name_kana").fill("タンコウ")
    page.locator("#given_name_kana").fill("ハナコ")
    page.locator("#email").fill("hanako@example.jp")
    page.locator("#postal_code").fill("0680403")
    page.locator("#postal_code").dispatch_event("change")
    expect(page.locator("#municipality")).to_have_value("夕張市")
    box = page.locator("#privacy_consent").bounding_box()
    assert box["height"] >= 24 and box["width"] >= 24  # a target a thumb can hit
    page.locator("#privacy_consent").tap()
    page.locator("#news_opt_in").tap()
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
    page.get_by_role("button", name="登録する").tap()
    expect(page.locator("#registration-number")).to_have_text("YL-00001")
    expect(page.locator("#checked-in")).to_be_visible()
    page.screenshot(path=str(tmp_path / "done.png"), full_page=True)
    assert [p for p in watch.problems if "422" not in p] == []
    assert watch.foreign_requests() == []
    with app.app_context():
        attendance = db.session.scalar(select(Attendance))
        assert attendance.event_day_id == day_id
    # Staff see the person on the event's roster.
    staff = page.context.new_page()
    staff.goto(f"/login?next=/events/{event_id}")
    sign_in(staff, "staff@example.jp")
    expect(staff.locator("body")).to_contain_text("YL-00001")
    expect(staff.locator("body")).to_contain_text("炭鉱")
