"""Importing a small list in a real browser: one bad row is shown, nothing is written;
the corrected file goes in whole."""

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.supporters.models import Supporter
from tests.test_browser import browse, chromium, live_server, sign_in  # noqa: F401

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the browser fixtures skip or fail first
    expect = None

pytestmark = pytest.mark.browser

HEADER = "姓,名,セイ,メイ,メールアドレス,関係区分\n"
GOOD = "夕張,花子,ユウバリ,ハナコ,hanako@example.jp,出身者\n"
BAD = "髙橋,一郎,タカハシ,イチロウ,ichiro@example,出身者\n"  # no domain after @
FIXED = "髙橋,一郎,タカハシ,イチロウ,ichiro@example.jp,出身者\n"


def _upload(page, tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_bytes(text.encode("cp932"))  # as Excel saves "CSV"
    page.goto("/imports/")
    page.wait_for_load_state("load")
    page.locator("#file").set_input_files(str(path))
    page.get_by_role("button", name="アップロードして列を選ぶ").click()
    expect(
        page.get_by_role("heading", name="どの列に何が入っていますか？")
    ).to_be_visible()
    page.get_by_role("button", name="全行をチェックする").click()


def test_staff_see_the_bad_row_fix_the_file_and_import_it(
    app,
    users,
    browse,  # noqa: F811 (the fixture imported above)
    tmp_path,
):
    page, watch = browse
    page.goto("/login")
    sign_in(page, "staff@example.jp")
    expect(page.locator("#result-count")).to_be_visible()  # signed in, on the list
    page.wait_for_load_state("load")

    _upload(page, tmp_path, "list.csv", HEADER + GOOD + BAD)
    expect(page.locator("#import-summary")).to_contain_text("2行を読みました。")
    expect(page.locator("#import-summary")).to_contain_text("1行に問題があります。")
    expect(page.locator(".problem-rows")).to_contain_text("3")
    expect(page.locator(".problem-rows")).to_contain_text(
        "「ichiro@example」はメールアドレスではありません。"
    )
    expect(page.get_by_role("button", name="取り込む", exact=True)).to_be_disabled()
    with app.app_context():
        assert db.session.scalars(select(Supporter)).all() == []

    _upload(page, tmp_path, "fixed.csv", HEADER + GOOD + FIXED)
    expect(page.locator("#import-summary")).to_have_text("2行を読みました。")
    page.get_by_label("このファイルの方々は個人情報の取扱いに同意しています").check()
    page.get_by_role("button", name="取り込む", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("新規 2人")
    page.wait_for_load_state("load")  # the list's styles and scripts, too
    with app.app_context():
        names = sorted(s.family_name for s in db.session.scalars(select(Supporter)))
    assert names == ["夕張", "髙橋"]
    watch.assert_clean()
