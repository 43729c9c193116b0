"""End-to-end checks in a real, headless Chromium against a real server.

What a member of staff would notice: signing in, registering a Liker whose name has
rare kanji (𠮷 is outside the BMP), the postal-code button filling in the address,
finding the person again with half-width kana, and a failed save that explains itself
in Japanese without losing what was typed. Throughout, the browser must talk only to
our own server and the page must raise no console errors or CSP violations.

Uses Debian's /usr/bin/chromium (Playwright cannot download its own browser here).
Skipped when Playwright or Chromium is missing, unless CRM_REQUIRE_BROWSER=1 (CI).
"""

import os
import re
import threading
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from crm.extensions import db
from crm.supporters.models import Supporter
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Turns CSP violations into console errors, so that they cannot go unnoticed.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


def _unavailable(reason: str):
    if os.environ.get("CRM_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"{reason} (CRM_REQUIRE_BROWSER=1, so this is a failure)", pytrace=False
        )
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    if sync_playwright is None:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(
            f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        )
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            _unavailable(
                f"Chromium at {CHROMIUM} does not start: {error.message.splitlines()[0]}"
            )
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free port of 127.0.0.1; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, name="crm-live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class PageWatch:
    """Records every request, console error, page error and HTTP error of a context."""

    def __init__(self, context, base_url: str):
        self.origin = urlsplit(base_url)
        self.requests: list[str] = []
        self.problems: list[str] = []
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("requestfailed", self._request_failed)
        context.on("response", self._response)
        context.on("console", self._console)
        context.on(
            "weberror", lambda error: self.problems.append(f"page error: {error.error}")
        )

    def _console(self, message):
        if message.type in ("error", "assert"):
            self.problems.append(
                f"console {message.type}: {message.text} ({message.location.get('url')})"
            )

    def _request_failed(self, request):
        if request.url.endswith("/favicon.svg") and "ERR_ABORTED" in str(
            request.failure
        ):
            return  # fetched after the page loaded; the next page cuts it off
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response):
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def foreign_requests(self) -> list[str]:
        foreign = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue  # never leave the browser
            if (parts.scheme, parts.netloc) != (self.origin.scheme, self.origin.netloc):
                foreign.append(url)
        return foreign

    def paths(self) -> list[str]:
        return [urlsplit(url).path for url in self.requests]

    def assert_clean(self):
        assert self.requests, "no request was recorded; is the watch attached?"
        assert self.foreign_requests() == [], "the browser contacted another host"
        assert self.problems == [], "\n".join(self.problems)


@pytest.fixture
def browse(chromium, live_server):
    """A fresh, watched browser page for the live server."""
    context = chromium.new_context(
        base_url=live_server,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport={"width": 1280, "height": 800},
    )
    context.set_default_timeout(5_000)
    watch = PageWatch(context, live_server)
    page = context.new_page()
    try:
        yield page, watch
    finally:
        context.close()


def sign_in(page, email: str):
    page.get_by_label("メールアドレス", exact=True).fill(email)
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()


def test_staff_registers_a_liker_with_rare_kanji_and_finds_them_with_half_width_kana(
    app, users, browse
):
    page, watch = browse

    page.goto("/likers/")
    expect(page).to_have_url(f"{watch.origin.geturl()}/login?next=/likers/")
    expect(page.get_by_role("heading", name="ログイン")).to_be_visible()

    sign_in(page, "staff@example.jp")
    expect(page).to_have_url(f"{watch.origin.geturl()}/likers/")
    expect(page.locator("#result-count")).to_have_text("0 件")

    page.get_by_role("link", name="＋ 新規登録").click()
    expect(page.get_by_role("heading", name="Likers の新規登録")).to_be_visible()
    page.get_by_label("姓", exact=True).fill("𠮷田")
    page.get_by_label("名", exact=True).fill("髙子")
    page.get_by_label("セイ（ふりがな）").fill("ヨシダ")
    page.get_by_label("メイ（ふりがな）").fill("タカコ")
    page.get_by_label("郵便番号").fill("0680403")
    page.get_by_role("button", name="住所を検索").click()
    expect(page.get_by_label("都道府県")).to_have_value("北海道")
    expect(page.get_by_label("市区町村")).to_have_value("夕張市")
    expect(page.locator("#postal-status")).to_have_text(
        "郵便番号から住所を入力しました。"
    )
    expect(page.get_by_label("郵便番号")).to_have_value("068-0403")
    assert "/postal/0680403" in watch.paths()  # looked up on our own server
    page.get_by_label("本人が個人情報の取扱い（利用目的）に同意している").check()
    page.get_by_role("button", name="保存", exact=True).click()

    expect(page.get_by_role("alert")).to_have_text(
        "𠮷田 髙子 さんを登録番号 YL-00001 で登録しました。"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("𠮷田 髙子")
    expect(page.locator("main")).to_contain_text("YL-00001")
    expect(page.locator("main")).to_contain_text("〒068-0403")
    expect(page.locator("main")).to_contain_text("北海道夕張市")
    with app.app_context():
        supporter = db.session.scalar(select(Supporter))
        # Stored exactly as typed, 𠮷 (U+20BB7) included.
        assert [supporter.family_name, supporter.given_name] == ["𠮷田", "髙子"]
        assert supporter.registration_number == "YL-00001"
        db.session.remove()

    page.get_by_role("link", name="Likers 一覧").first.click()
    page.get_by_role("searchbox", name="検索").fill("ﾖｼﾀﾞ")
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page.locator("#result-count")).to_have_text("1 件")
    expect(page.locator(".supporters-table tbody tr")).to_have_count(1)
    expect(page.locator(".supporters-table .name")).to_have_text("𠮷田 髙子")
    expect(page.get_by_role("searchbox", name="検索")).to_have_value("ﾖｼﾀﾞ")

    watch.assert_clean()


def test_a_failed_save_explains_in_japanese_and_keeps_the_typed_name(
    app, users, browse
):
    page, watch = browse
    page.goto("/login?next=/likers/new")
    sign_in(page, "staff@example.jp")
    page.get_by_label("姓", exact=True).fill("𠮷田")
    page.get_by_label("名", exact=True).fill("髙子")
    page.get_by_label("本人が個人情報の取扱い（利用目的）に同意している").check()
    page.get_by_role("button", name="保存", exact=True).click()  # kana left empty

    expect(page.get_by_role("alert")).to_have_text(
        "赤く表示された項目を直してください。まだ保存されていません。"
    )
    kana = page.get_by_label("セイ（ふりがな）")
    expect(kana).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(kana).to_be_focused()  # the cursor waits where the correction is needed
    expect(page.locator("#family_name_kana ~ .invalid-feedback")).to_have_text(
        "「セイ（ふりがな）」を入力してください。"
    )
    expect(page.get_by_label("姓", exact=True)).to_have_value("𠮷田")
    expect(page.get_by_label("名", exact=True)).to_have_value("髙子")
    with app.app_context():
        assert db.session.scalar(select(func.count(Supporter.id))) == 0
        db.session.remove()

    watch.assert_clean()
