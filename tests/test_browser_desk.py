"""The check-in desk in a real, headless Chromium against a real server.

What the person at the door does: a keyboard-wedge scanner types a Liker's QR URL
and Enter into the one input; a second scan of the same card is refused politely;
a name typed in kana lists candidates and a digit key picks one; the walk-in
counter counts; a newcomer is registered and checked in from the quick form. After
every action the cursor must be back in the scan input, so that the next card can
be scanned without touching the mouse.

Uses the fixtures of test_browser.py (Debian's /usr/bin/chromium, a live server).
"""

import re

import pytest
from sqlalchemy import func, select

from crm.events.models import Attendance, WalkInCount
from crm.events.queries import compute_totals
from crm.extensions import db
from crm.supporters.models import Supporter
from crm.supporters.tokens import public_url
from tests.factories import make_event, make_supporter
from tests.test_browser import browse, chromium, live_server, sign_in  # noqa: F401

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the chromium fixture skips the test
    expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def desk_day(app, users):
    """Today's event day and three Likers: one with a card, two 高橋 to choose from."""
    with app.test_request_context():
        event = make_event(title="まちあるき 本町編")
        hanako = make_supporter()  # 夕張 花子, YL-00001
        make_supporter(
            family_name="高橋",
            given_name="一郎",
            family_name_kana="タカハシ",
            given_name_kana="イチロウ",
        )  # YL-00002
        make_supporter(
            family_name="高橋",
            given_name="次郎",
            family_name_kana="タカハシ",
            given_name_kana="ジロウ",
        )  # YL-00003
        db.session.commit()
        day = {
            "id": event.days[0].id,
            "qr": public_url(app.config["PUBLIC_BASE_URL"], hanako.public_token),
        }
        db.session.remove()
    return day


@pytest.fixture
def desk(desk_day, browse):  # noqa: F811 - the fixture imported from test_browser
    """A member of staff signed in at the desk for today's event day."""
    page, watch = browse
    page.goto(f"/login?next=/desk/{desk_day['id']}")
    sign_in(page, "staff@example.jp")
    expect(page.get_by_role("heading", level=1)).to_contain_text("まちあるき 本町編")
    return page, watch


def test_desk_checks_in_by_qr_kana_and_quick_registration_with_one_focused_input(
    app, desk_day, desk
):
    page, watch = desk

    scan_input = page.locator("#code")
    result = page.locator("#result")
    total = page.locator('[data-total="participations"]')
    likers = page.locator('[data-total="liker_participations"]')
    citizens = page.locator('[data-total="citizens"]')
    expect(result).to_contain_text("受付できます")
    expect(scan_input).to_be_focused()  # ready for the first card at once
    expect(total).to_have_text("0")

    # A scanner types the QR code's URL and Enter into whatever has the focus.
    page.keyboard.type(desk_day["qr"])
    page.keyboard.press("Enter")
    expect(result).to_have_class(re.compile(r"\bresult-ok\b"))
    expect(result.locator(".result-message")).to_have_text(
        "夕張 花子 さんを受付しました"
    )
    expect(result.locator(".result-name")).to_have_text("夕張 花子")
    expect(result.locator(".result-detail")).to_contain_text("YL-00001")
    expect(scan_input).to_have_value("")
    expect(scan_input).to_be_focused()
    expect(total).to_have_text("1")
    expect(page.locator("#recent li")).to_have_count(1)
    expect(page.locator("#recent li").first).to_contain_text("夕張 花子")

    # The same card again: amber, the time of the first check-in, no second count.
    page.keyboard.type(desk_day["qr"])
    page.keyboard.press("Enter")
    expect(result).to_have_class(re.compile(r"\bresult-already\b"))
    expect(result.locator(".result-message")).to_have_text(
        re.compile(r"^受付済みです（\d{1,2}:\d{2}）。二重には数えません。$")
    )
    expect(result.locator(".result-name")).to_have_text("夕張 花子")
    expect(scan_input).to_be_focused()
    expect(total).to_have_text("1")
    expect(likers).to_have_text("1")
    expect(page.locator("#recent li")).to_have_count(1)

    # A name in hiragana lists both 高橋 in kana order; the digit 2 picks 次郎.
    page.keyboard.type("たかはし")
    page.keyboard.press("Enter")
    expect(result).to_have_class(re.compile(r"\bresult-choose\b"))
    expect(result.locator(".result-message")).to_have_text(
        "2人見つかりました。番号キーを押して受付します。"
    )
    candidates = page.locator("#candidates li")
    expect(candidates).to_have_count(2)
    expect(candidates.nth(0)).to_contain_text("高橋 一郎")
    expect(candidates.nth(1)).to_contain_text("高橋 次郎")
    expect(scan_input).to_be_focused()
    page.keyboard.press("2")
    expect(result).to_have_class(re.compile(r"\bresult-ok\b"))
    expect(result.locator(".result-name")).to_have_text("高橋 次郎")
    expect(page.locator("#candidates")).to_be_hidden()
    expect(scan_input).to_have_value("")
    expect(scan_input).to_be_focused()
    expect(total).to_have_text("2")

    # A citizen who is not a Liker: counted with one click, focus stays put.
    page.get_by_role("button", name="市民 +1").click()
    expect(citizens).to_have_text("1")
    expect(result.locator(".result-message")).to_have_text("市民：1人")
    expect(total).to_have_text("3")
    expect(likers).to_have_text("2")
    expect(scan_input).to_be_focused()

    # A newcomer: the quick form registers and checks in, in one step.
    page.get_by_role("button", name="＋ Likers新規登録").click()
    quick = page.locator("#quick-form")
    expect(quick).to_be_visible()
    expect(quick.get_by_label("姓", exact=True)).to_be_focused()
    quick.get_by_label("姓", exact=True).fill("𠮷田")
    quick.get_by_label("名", exact=True).fill("髙子")
    quick.get_by_label("セイ（ふりがな）").fill("ヨシダ")
    quick.get_by_label("メイ（ふりがな）").fill("タカコ")
    # The postal code fills in the address from the app's own data, as on the form.
    quick.get_by_label("郵便番号").fill("1600022")
    quick.get_by_label("郵便番号").press("Tab")
    expect(quick.get_by_label("都道府県")).to_have_value("東京都")
    expect(quick.get_by_label("市区町村")).to_have_value("新宿区")
    quick.get_by_label("本人が個人情報の取扱い（利用目的）に同意している").check()
    quick.get_by_role("button", name="登録して受付").click()
    expect(result).to_have_class(re.compile(r"\bresult-ok\b"))
    expect(result.locator(".result-message")).to_have_text(
        "𠮷田 髙子 さんを登録番号 YL-00004 で登録し、受付しました"
    )
    expect(result.locator(".result-name")).to_have_text("𠮷田 髙子")
    expect(quick).to_be_hidden()
    expect(scan_input).to_be_focused()
    expect(total).to_have_text("4")
    expect(likers).to_have_text("3")
    expect(page.locator("#recent li").first).to_contain_text("𠮷田 髙子")

    with app.app_context():
        rows = db.session.execute(
            select(Supporter.registration_number, func.count(Attendance.id))
            .join(Attendance, Attendance.supporter_id == Supporter.id)
            .where(Attendance.event_day_id == desk_day["id"])
            .group_by(Supporter.registration_number)
            .order_by(Supporter.registration_number)
        ).all()
        assert rows == [("YL-00001", 1), ("YL-00003", 1), ("YL-00004", 1)]
        walk_ins = db.session.execute(
            select(WalkInCount.group, WalkInCount.count).where(
                WalkInCount.event_day_id == desk_day["id"]
            )
        ).all()
        assert walk_ins == [("citizen", 1)]
        totals = compute_totals(day_id=desk_day["id"])
        assert (totals.liker_participations, totals.citizens, totals.visitors) == (
            3,
            1,
            0,
        )
        assert totals.participations == 4
        newcomer = db.session.scalar(
            select(Supporter).where(Supporter.registration_number == "YL-00004")
        )
        assert [newcomer.family_name, newcomer.given_name] == ["𠮷田", "髙子"]
        assert newcomer.residence == "outside_prefecture"  # 東京都新宿区
        db.session.remove()

    watch.assert_clean()


def test_a_card_scanned_while_candidates_are_listed_checks_in_its_own_owner(
    app, desk_day, desk
):
    """The digits of a scan are not candidate numbers once the search text is gone."""
    page, watch = desk
    scan_input = page.locator("#code")
    result = page.locator("#result")
    expect(scan_input).to_be_focused()

    page.keyboard.type("たかはし")
    page.keyboard.press("Enter")
    expect(page.locator("#candidates li")).to_have_count(2)
    expect(scan_input).to_have_value("たかはし")

    # Nobody was picked; the next person's number is typed over the search.
    page.keyboard.type("YL-00001")
    expect(page.locator("#candidates")).to_be_hidden()
    expect(scan_input).to_have_value("YL-00001")
    page.keyboard.press("Enter")
    expect(result).to_have_class(re.compile(r"\bresult-ok\b"))
    expect(result.locator(".result-name")).to_have_text("夕張 花子")
    expect(scan_input).to_be_focused()

    # Ticking the sound on with the mouse leaves the next card for the scan input.
    page.get_by_label("音").check()
    expect(scan_input).to_be_focused()

    with app.app_context():
        checked_in = db.session.scalars(
            select(Supporter.registration_number)
            .join(Attendance, Attendance.supporter_id == Supporter.id)
            .where(Attendance.event_day_id == desk_day["id"])
        ).all()
        assert checked_in == ["YL-00001"]
        db.session.remove()

    watch.assert_clean()
