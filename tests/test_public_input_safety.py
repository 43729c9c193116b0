"""What a stranger types into the public form must never attack the staff.

Formula injection into every export (Likers list as CSV UTF-8, CSV Shift_JIS and
Excel; the event roster as CSV and Excel), stored XSS into every staff page that
shows a Liker and into the card and certificate PDFs, and guessed tokens.
"""

import csv
import io
import secrets
import shutil
import subprocess
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from crm.admin.services import ensure_settings
from crm.extensions import db
from crm.registration.models import Registration
from crm.registration.services import new_event_link
from crm.supporters.models import Supporter
from tests.conftest import print_tools_unavailable
from tests.factories import make_event
from tests.test_registration import fill_in

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULAS = {
    "family_name": '=HYPERLINK("http://evil.example","x")',
    "given_name": "+1+1",
    "address": "-2+3",
    "municipality": "@SUM(A1)",
}
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


def _review(app, on):
    with app.app_context():
        ensure_settings().registration_review = on
        db.session.commit()


@pytest.fixture
def event_and_link(app):
    with app.test_request_context():
        event = make_event(title="炭鉱まつり")
        token = new_event_link(event).token
        ids = (event.id, event.days[0].id)
        db.session.commit()
    return ids, token


def test_control_characters_are_refused_by_the_form(app, browser):
    for value in ("a\tb", "a\rb", "x\u202ey", "a\x00b"):
        response, _data = fill_in(browser, family_name=value)
        assert response.status_code == 422, repr(value)
    with app.app_context():
        assert db.session.scalar(select(Supporter)) is None


def _cells_of_csv(data: bytes, encoding: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(data.decode(encoding))) for c in row]


def _cells_of_xlsx(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [
        c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)
    ]


def _assert_neutral(cells, where):
    typed = [c for c in cells if any(v in c for v in FORMULAS.values())]
    assert typed, f"{where}: the typed values are missing"
    for cell in cells:
        assert not (cell and cell.startswith(DANGEROUS_STARTS)), (where, cell)
    for value in FORMULAS.values():
        assert any(c.startswith("'") and value in c for c in typed), (where, value)


def test_formulas_from_the_public_form_are_neutral_in_every_export(
    app, browser, signed_in, event_and_link
):
    _review(app, False)
    (event_id, _day_id), token = event_and_link
    response, _data = fill_in(browser, url=f"/join/e/{token}", **FORMULAS)
    assert response.status_code == 302
    staff = signed_in("staff")
    columns = ["number", "name", "family_name", "given_name", "municipality",
               "address", "postal_code", "email"]  # fmt: skip
    for fmt, read in (
        ("csv", lambda d: _cells_of_csv(d, "utf-8-sig")),
        ("csv-cp932", lambda d: _cells_of_csv(d, "cp932")),
        ("xlsx", _cells_of_xlsx),
    ):
        export = staff.post_form(
            "/exports/likers", {"query": "", "format": fmt, "columns": columns},
            token_from="/exports/likers",
        )  # fmt: skip
        assert export.status_code == 200, fmt
        _assert_neutral(read(export.data), f"likers {fmt}")
    roster = f"/exports/events/{event_id}/roster"
    for fmt, read in (
        ("csv", lambda d: _cells_of_csv(d, "utf-8-sig")),
        ("xlsx", _cells_of_xlsx),
    ):
        export = staff.post_form(
            roster, {"format": fmt}, token_from=f"/events/{event_id}"
        )
        assert export.status_code == 200, fmt
        cells = read(export.data)
        name = [c for c in cells if "HYPERLINK" in c]
        assert name and all(c.startswith("'") for c in name), (fmt, name)
        assert not any(c.startswith(DANGEROUS_STARTS) for c in cells if c), fmt


def _escaped_only(page: str, where: str) -> None:
    assert SCRIPT not in page and "<img src=x" not in page, where
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, where


def test_markup_from_the_public_form_shows_as_text_on_every_staff_page(
    app, browser, signed_in, event_and_link
):
    (event_id, day_id), token = event_and_link
    _review(app, True)  # first in the review queue
    fill_in(browser, url=f"/join/e/{token}", family_name=SCRIPT, given_name=IMG,
            address=SCRIPT, email="xss@example.jp")  # fmt: skip
    staff = signed_in("staff")
    _escaped_only(staff.get("/registrations/").get_data(as_text=True), "queue")
    with app.app_context():
        registration_id = db.session.scalar(select(Registration.id))
    staff.post_form(f"/registrations/{registration_id}/approve", {},
                    token_from="/registrations/")  # fmt: skip
    with app.app_context():
        liker = db.session.scalar(select(Supporter))
        liker_id = liker.id
    pages = {
        "list": "/likers/",
        "search": "/likers/?q=xss@example.jp",
        "record": f"/likers/{liker_id}",
        "edit": f"/likers/{liker_id}/edit",
        "withdraw": f"/likers/{liker_id}/withdraw",
        "merge": f"/likers/{liker_id}/merge",
        "event": f"/events/{event_id}",
        "desk": f"/desk/{day_id}",
    }
    for where, url in pages.items():
        response = staff.get(url)
        assert response.status_code == 200, where
        page = response.get_data(as_text=True)
        assert SCRIPT not in page and "<img src=x" not in page, where
        assert "&lt;script&gt;" in page or "\\u003cscript\\u003e" in page, where


def _pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        print_tools_unavailable("pdftotext is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip


def test_markup_prints_literally_on_cards_and_certificates(
    app, browser, signed_in, gothic, tmp_path
):
    _review(app, False)
    fill_in(browser, family_name="<b>", given_name='"><i>', email="pdf@example.jp")
    with app.app_context():
        liker_id = db.session.scalar(select(Supporter.id))
    staff = signed_in("staff")
    card = staff.post_form(
        "/documents/cards", {"supporter_id": str(liker_id), "layout": "single"},
        token_from=f"/likers/{liker_id}",
    )  # fmt: skip
    assert card.mimetype == "application/pdf", card.get_data(as_text=True)[:500]
    assert '<b> "><i>' in _pdf_text(card.data, tmp_path).replace("\u3000", " ")
    certificate = staff.post_form(
        "/documents/certificates",
        {"supporter_id": str(liker_id), "layout": "horizontal"},
        token_from=f"/likers/{liker_id}",
    )  # fmt: skip
    assert certificate.mimetype == "application/pdf"
    text = _pdf_text(certificate.data, tmp_path)
    assert "<b>" in text and '"><i>' in text


def test_ten_thousand_random_tokens_find_nothing_and_are_cheap(app, browser):
    _review(app, False)
    with app.test_request_context():
        new_event_link(make_event())
        db.session.commit()
    fill_in(browser)  # a real Liker and a real link exist
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    client = app.test_client()
    started = time.perf_counter()
    try:
        for _n in range(10_000):
            token = secrets.token_urlsafe(16)
            assert client.get(f"/v/{token}").status_code == 404
            assert client.get(f"/join/e/{token}").status_code == 404
    finally:
        event.remove(engine, "before_cursor_execute", count)
    elapsed = time.perf_counter() - started
    # A fixed handful per guess: one lookup by the unique token index, the town
    # settings for the page; never a scan that grows with the data.
    assert len(statements) <= 3 * 2 * 10_000
    assert elapsed / 20_000 < 0.02, f"{elapsed / 20_000 * 1000:.1f} ms a guess"
