"""Headers on every route (T21), error pages, templates and uploads (T11)."""

import io
import logging
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from crm import create_app
from crm.auth.permissions import public
from crm.extensions import db
from crm.imports import reading
from crm.imports.models import ImportUpload
from crm.supporters.models import Supporter
from tests.conftest import Browser, csrf_token_from
from tests.test_access import _urls, records  # noqa: F401 (records is a fixture)

TEMPLATES = Path(__file__).resolve().parent.parent / "crm" / "templates"
STATIC_ENDPOINTS = {"static", "bootstrap.static"}


def _directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def check_headers(response, endpoint: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", endpoint
    policy = _directives(headers.get("Content-Security-Policy", ""))
    assert policy.get("frame-ancestors") == "'none'", endpoint
    for directive in ("default-src", "script-src", "style-src"):
        assert policy.get(directive) == "'self'", (endpoint, directive)
    assert "unsafe" not in headers["Content-Security-Policy"], endpoint
    if endpoint not in STATIC_ENDPOINTS:
        assert headers.get("Cache-Control") == "no-store", endpoint


def test_every_get_route_sends_the_security_headers(app, signed_in, users, request):
    ids = request.getfixturevalue("records")  # ids that belong together
    admin = signed_in("admin")
    seen = set()
    for endpoint, method, url in _urls(app, ids, users["staff"]):
        if method != "GET":
            continue
        response = admin.get(url)
        assert response.status_code < 500, (endpoint, url)
        check_headers(response, endpoint)
        seen.add(endpoint)
    assert {"supporters.show", "public.liker", "admin.users", "static"} <= seen
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_the_public_liker_page_and_sign_in_page_are_not_cached(app, request):
    ids = request.getfixturevalue("records")
    with app.app_context():
        token = db.session.get(Supporter, ids["supporter_id"]).public_token
    client = app.test_client()
    liker = client.get(f"/v/{token}")
    assert liker.status_code == 200
    check_headers(liker, "public.liker")
    check_headers(client.get("/login"), "auth.login")


def test_hsts_is_sent_when_served_over_https(app):
    https = create_app({**_config(app), "HTTPS": True})
    response = https.test_client().get("/login", base_url="https://likers.example.jp")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    with https.app_context():
        db.engine.dispose()


def _config(app) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"],
    }


def test_templates_use_no_inline_script_style_or_event_handlers():
    """The CSP forbids them (script-src/style-src 'self'): they would silently fail."""
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style[\s>]",
            r"\sstyle\s*=",
            r"\son[a-z]+\s*=",
            r"javascript:",
        ):
            problems += [
                f"{path.name}: {m.group(0)}" for m in re.finditer(pattern, text)
            ]
    assert problems == []


# --- error pages with a correlation ID -----------------------------------------------


def test_an_unexpected_error_shows_a_correlation_id_and_logs_the_traceback(app, caplog):
    broken = create_app({**_config(app), "PROPAGATE_EXCEPTIONS": False})

    @broken.route("/boom")
    @public
    def boom():
        raise RuntimeError("secret detail 夕張太郎")

    with caplog.at_level(logging.ERROR):
        response = broken.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "問題が発生しました" in page
    correlation = re.search(r'id="correlation-id">([0-9a-f]{12})<', page)
    assert correlation, page
    assert "Traceback" not in page and "secret detail" not in page
    logged = [r for r in caplog.records if correlation.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info[0] is RuntimeError
    check_headers(response, "boom")
    with broken.app_context():
        db.engine.dispose()


# --- uploads: size, type, XML bombs --------------------------------------------------


def _xlsx(sheet_xml: bytes | None = None) -> bytes:
    workbook = Workbook()
    workbook.active.append(["姓", "名", "セイ", "メイ"])
    workbook.active.append(["夕張", "花子", "ユウバリ", "ハナコ"])
    output = io.BytesIO()
    workbook.save(output)
    if sheet_xml is None:
        return output.getvalue()
    source = zipfile.ZipFile(io.BytesIO(output.getvalue()))
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml
            target.writestr(item.filename, data)
    return rebuilt.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>
</sheetData></worksheet>"""

# One harmless entity: plain expat would expand it; defusedxml refuses any entity.
ONE_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE worksheet [<!ENTITY town "Yubari">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&town;</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>
</sheetData></worksheet>"""


def _upload(browser: Browser, data: bytes, name: str = "list.xlsx"):
    page = browser.get("/imports/").get_data(as_text=True)
    return browser.client.post(
        "/imports/",
        data={
            "csrf_token": csrf_token_from(page),
            "kind": "likers",
            "encoding": "auto",
            "file": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def _nothing_written(app) -> bool:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(ImportUpload.id))) == 0
            and db.session.scalar(select(func.count(Supporter.id))) == 0
        )


def test_a_normal_xlsx_still_uploads(app, signed_in):
    response = _upload(signed_in("staff"), _xlsx())
    assert response.status_code == 302


@pytest.mark.parametrize("sheet", [BILLION_LAUGHS, ONE_ENTITY], ids=["bomb", "entity"])
def test_xlsx_with_entities_is_refused_in_japanese_and_nothing_is_written(
    app, signed_in, sheet
):
    response = _upload(signed_in("staff"), _xlsx(sheet))
    assert response.status_code == 400
    assert "読み取れるExcelファイル" in response.get_data(as_text=True)
    assert _nothing_written(app)


def test_xlsx_that_unpacks_too_large_is_refused(app, signed_in, monkeypatch):
    monkeypatch.setattr(reading, "MAX_XLSX_UNCOMPRESSED", 100_000)
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{"x" * 50}</t></is></c></row>'
        for n in range(1, 3000)
    )
    sheet = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
    ).encode()
    data = _xlsx(sheet)
    assert len(data) < 100_000  # small on the wire, large once unpacked
    response = _upload(signed_in("staff"), data)
    assert response.status_code == 400
    assert "50MB" in response.get_data(as_text=True)
    assert _nothing_written(app)


def test_an_upload_over_the_size_limit_is_refused(app, signed_in):
    data = b"a,b\n" + b"x" * (reading.MAX_BYTES + 2 * 1024 * 1024)
    response = _upload(signed_in("staff"), data, name="big.csv")
    assert response.status_code == 413
    assert "ファイルが大きすぎます" in response.get_data(as_text=True)
    assert _nothing_written(app)


def test_only_the_import_takes_files_bigger_than_other_forms(app, signed_in):
    """Lists may be up to 50 MB; every other form keeps the general limit."""
    bigger = app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024
    response = _upload(signed_in("staff"), b"PK" + b"\0" * bigger, name="big.xlsx")
    assert response.status_code == 400  # read, and found not to be a workbook
    assert "読み取れるExcelファイル" in response.get_data(as_text=True)
    public = app.test_client().post(
        "/join", data=b"x" * bigger, content_type="application/x-www-form-urlencoded"
    )
    assert public.status_code == 413
