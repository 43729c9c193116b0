"""Certificates (感謝状) in both layouts, the documents' settings, images and preview."""

import io
import shutil
import subprocess
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from crm.admin.services import get_settings
from crm.documents.models import DocumentImage, Issuance
from crm.documents.placeholders import fill, unknown_placeholders
from crm.documents.services import render_certificates_for
from crm.eras import format_era, format_era_kanji, kanji_number
from crm.extensions import db
from crm.printing.fonts import font_set
from crm.printing.text import NO_LINE_END, NO_LINE_START, TextProblem, wrap_text
from crm.printing.vertical import cells
from crm.supporters.models import Supporter
from tests.conftest import print_tools_unavailable
from tests.factories import make_supporter

DOCUMENT_SETTINGS = {
    "certificate_title": "感謝状",
    "certificate_body": "{氏名}様は{事業名}の登録者です。心から感謝します。",
    "certificate_layout": "vertical",
    "certificate_date_style": "era",
    "card_title": "{呼称} 登録者",
    "card_back_text": "{事業名}をよろしく",
    "card_offset_x": "0",
    "card_offset_y": "0",
}


def _tools(*names):
    for name in names:
        if shutil.which(name) is None:
            print_tools_unavailable(f"{name} is not installed")


def _text(pdf: bytes, *options: str) -> str:
    _tools("pdftotext")
    return subprocess.run(
        ["pdftotext", *options, "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def _decode(pdf: bytes, tmp_path, page: int = 1) -> list[str]:
    _tools("pdftoppm", "zbarimg")
    (tmp_path / "doc.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-f", str(page), "-l", str(page),
         "-singlefile", str(tmp_path / "doc.pdf"), str(tmp_path / "page")],
        check=True,
    )  # fmt: skip
    output = subprocess.run(
        ["zbarimg", "-q", str(tmp_path / "page.png")], capture_output=True, text=True
    ).stdout
    return sorted(output.splitlines())


def _page_count(pdf: bytes) -> int:
    _tools("pdfinfo")
    info = subprocess.run(
        ["pdfinfo", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return int(
        next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1]
    )


@pytest.fixture
def mincho():
    try:
        return font_set("mincho")
    except Exception:  # noqa: BLE001
        print_tools_unavailable("IPAex Mincho is not installed")


def test_era_dates_on_certificates_change_era_on_the_right_day():
    assert format_era_kanji(date(2019, 5, 1)) == "令和元年五月一日"
    assert format_era_kanji(date(2019, 4, 30)) == "平成三十一年四月三十日"
    assert format_era(date(2019, 4, 30)) == "平成31年4月30日"
    assert format_era_kanji(date(2026, 11, 23)) == "令和八年十一月二十三日"
    assert format_era_kanji(date(1989, 1, 7)) == "昭和六十四年一月七日"
    assert [kanji_number(n) for n in (1, 10, 11, 20, 31, 64)] == [
        "一", "十", "十一", "二十", "三十一", "六十四",
    ]  # fmt: skip


def test_placeholders_are_filled_and_unknown_ones_are_named():
    values = {"氏名": "𠮷田 髙子", "事業名": "夕張Likers!"}
    assert (
        fill("{氏名}様、{programme}へようこそ", values)
        == "𠮷田 髙子様、夕張Likers!へようこそ"
    )
    assert fill("｛氏名｝様", values) == "𠮷田 髙子様"  # typed with the IME on
    assert fill("{__class__}", values) == "{__class__}"
    assert unknown_placeholders("{氏名} {なまえ} {name.__class__}") == [
        "なまえ", "name.__class__",
    ]  # fmt: skip


def test_vertical_writing_turns_and_places_the_characters_it_must(gothic):
    kinds = {
        cell.text: cell.kind for cell in cells("ラーメン、（夕張Likers!）っ12", gothic)
    }
    assert kinds["ー"] == "rotated" and kinds["（"] == "rotated"
    assert kinds["、"] == "corner" and kinds["っ"] == "small"
    assert kinds["Likers!"] == "sideways" and kinds["12"] == "tcy"
    assert kinds["夕"] == "upright"


def test_lines_never_start_with_closing_marks_nor_end_with_opening_ones(gothic):
    text = "あいうえお、かきくけこ。「さしすせそ」たちつてとっなにぬねのー" * 6
    for width in range(40, 200, 7):
        lines = wrap_text(text, gothic, 10, width)
        assert "".join(lines) == text
        for line in lines[1:]:
            assert line[0] not in NO_LINE_START, (width, lines)
        for line in lines[:-1]:
            assert line[-1] not in NO_LINE_END, (width, lines)


def _liker(app, **values):
    with app.test_request_context():
        supporter = make_supporter(**values)
        db.session.commit()
        return supporter.id, supporter.public_token, supporter.registration_number


@pytest.mark.parametrize("layout", ["horizontal", "vertical"])
def test_a_certificate_shows_the_exact_name_number_date_and_a_code_that_decodes(
    app, mincho, tmp_path, layout
):
    supporter_id, token, number = _liker(
        app, family_name="𠮷田", given_name="髙子", registered_on=date(2019, 5, 1)
    )
    with app.test_request_context():
        settings = get_settings()
        settings.mayor_name = "厚谷 司"
        pdf = render_certificates_for(
            [db.session.get(Supporter, supporter_id)],
            layout,
            settings,
            "https://likers.example.jp",
            issued_on=date(2019, 4, 30),
        )
    assert _page_count(pdf) == 1
    if layout == "horizontal":
        text = _text(pdf)
        assert "𠮷田 髙子" in text and "平成31年4月30日" in text
    else:
        # One character per line in content order: column by column, right to left.
        text = "".join(_text(pdf, "-raw").split())
        assert "感謝状𠮷田髙子様" in text and "平成三十一年四月三十日" in text
        assert "夕張市長厚谷司" in text
        assert "令和元年五月一日" in text  # {登録日} in the default body
    assert number in text
    assert _decode(pdf, tmp_path) == [f"QR-Code:https://likers.example.jp/v/{token}"]


def test_staff_print_certificates_for_the_selection_and_the_ledger_records_them(
    app, signed_in, mincho, tmp_path
):
    first = _liker(app, family_name="髙橋", family_name_kana="タカハシ")
    second = _liker(app, family_name="高山", family_name_kana="タカヤマ")
    _liker(app, family_name="佐藤", family_name_kana="サトウ")
    staff = signed_in("staff")
    response = staff.post_form(
        "/documents/certificates",
        {"query": "q=たか", "layout": "horizontal", "record": "y"},
        token_from="/likers/?q=たか",
    )
    assert response.mimetype == "application/pdf"
    assert _page_count(response.data) == 2
    with app.app_context():
        ledger = db.session.execute(select(Issuance.supporter_id, Issuance.kind)).all()
    assert sorted(ledger) == sorted(
        [(first[0], "certificate"), (second[0], "certificate")]
    )
    waiting = staff.get("/likers/?certificate=not_issued").get_data(as_text=True)
    assert ">佐藤 花子<" in waiting and ">髙橋 花子<" not in waiting


def test_a_body_too_long_for_the_certificate_prints_nothing_and_says_so(
    app, signed_in, mincho
):
    supporter_id, _token, _number = _liker(app)
    with app.app_context():
        get_settings().certificate_body = "とても長い感謝の言葉。" * 200
        db.session.commit()
    response = signed_in("staff").post_form(
        "/documents/certificates",
        {"supporter_id": str(supporter_id), "record": "y"},
        token_from=f"/likers/{supporter_id}",
        follow_redirects=True,
    )
    assert "最小の文字サイズでも収まりません" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Issuance)) is None
        with pytest.raises(TextProblem):
            render_certificates_for(
                [db.session.get(Supporter, supporter_id)], "vertical", get_settings(),
                "https://likers.example.jp",
            )  # fmt: skip


def test_a_very_long_name_shrinks_to_fit_the_certificate(app, mincho):
    supporter_id, _token, _number = _liker(
        app, family_name="勅使河原", given_name="寿限無寿限無五劫の擦り切れ"
    )
    with app.app_context():
        for layout in ("vertical", "horizontal"):
            pdf = render_certificates_for(
                [db.session.get(Supporter, supporter_id)], layout, get_settings(),
                "https://likers.example.jp",
            )  # fmt: skip
            assert "寿限無寿限無五劫の擦り切れ" in "".join(_text(pdf, "-raw").split())


def test_the_settings_refuse_unknown_placeholders_and_keep_what_was_typed(
    app, signed_in
):
    admin = signed_in("admin")
    typed = "{なまえ}様、ありがとう"
    response = admin.post_form(
        "/documents/settings", {**DOCUMENT_SETTINGS, "certificate_body": typed}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "{なまえ} は差し込み項目ではありません" in page and typed in page
    with app.app_context():
        assert "{なまえ}" not in get_settings().certificate_body


def test_the_preview_uses_the_typed_texts_without_saving_them(app, signed_in, mincho):
    admin = signed_in("admin")
    response = admin.post_form(
        "/documents/settings/preview/certificate",
        {
            **DOCUMENT_SETTINGS,
            "certificate_body": "見本の文面です。",
            "layout": "horizontal",
        },
        token_from="/documents/settings",
    )
    assert response.mimetype == "application/pdf"
    text = _text(response.data)
    assert "見本の文面です。" in text and "𠮷田 髙子" in text
    with app.app_context():
        assert "見本の文面" not in get_settings().certificate_body
    card = admin.post_form(
        "/documents/settings/preview/card",
        {**DOCUMENT_SETTINGS, "card_back_text": "裏面の{事業名}", "layout": "single"},
        token_from="/documents/settings",
    )
    assert _page_count(card.data) == 2  # front and back
    assert "裏面の夕張Likers!" in _text(card.data)


def _png(colour, size=(200, 200), mode="RGB") -> bytes:
    output = io.BytesIO()
    image = Image.new(mode, size, "white")
    image.paste(colour, (50, 50, 150, 150))
    image.save(output, "PNG")
    return output.getvalue()


def test_an_uploaded_seal_is_cleaned_and_its_paper_becomes_transparent(
    app, signed_in, mincho, tmp_path
):
    admin = signed_in("admin")
    response = admin.post_form(
        "/documents/images/seal",
        {"image": (io.BytesIO(_png((200, 30, 30))), "seal.png")},
        token_from="/documents/settings",
        follow_redirects=True,
    )
    assert "画像を保存しました。" in response.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(DocumentImage, "seal")
        image = Image.open(io.BytesIO(stored.content))
        assert image.format == "PNG" and image.mode == "RGBA"
        assert image.getpixel((5, 5))[3] == 0  # the white paper
        assert image.getpixel((100, 100)) == (200, 30, 30, 255)  # the red ink
    shown = signed_in("staff").get("/documents/images/seal.png")
    assert shown.mimetype == "image/png" and shown.data == stored.content
    # The seal reaches the certificate: red pixels near the mayor's name.
    supporter_id, _token, _number = _liker(app)
    with app.app_context():
        pdf = render_certificates_for(
            [db.session.get(Supporter, supporter_id)], "horizontal", get_settings(),
            "https://likers.example.jp",
        )  # fmt: skip
    _tools("pdftoppm")
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-singlefile", str(tmp_path / "c.pdf"),
         str(tmp_path / "c")], check=True,
    )  # fmt: skip
    page = Image.open(tmp_path / "c.png").convert("RGB")
    reds = [
        (x, y)
        for x in range(page.width)
        for y in range(page.height)
        if page.getpixel((x, y))[0] > 150 and page.getpixel((x, y))[1] < 90
    ]
    assert reds, "the seal is not on the page"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not an image at all", "画像として読み取れないファイルです。"),
        (b"\x89PNG" + b"0" * (2 * 1024 * 1024), "ファイルが2MBを超えています。"),
        (_png((0, 0, 0), size=(10, 10)), "画像が小さすぎて印刷に使えません"),
    ],
)
def test_a_bad_upload_is_refused_with_a_clear_message(app, signed_in, payload, message):
    response = signed_in("admin").post_form(
        "/documents/images/logo",
        {"image": (io.BytesIO(payload), "logo.png")},
        token_from="/documents/settings",
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(DocumentImage, "logo") is None


def test_a_gif_is_refused_even_named_png(app, signed_in):
    gif = io.BytesIO()
    Image.new("RGB", (100, 100), "red").save(gif, "GIF")
    response = signed_in("admin").post_form(
        "/documents/images/logo",
        {"image": (io.BytesIO(gif.getvalue()), "logo.png")},
        token_from="/documents/settings",
        follow_redirects=True,
    )
    assert "使える画像は PNG と JPEG だけです。" in response.get_data(as_text=True)


def test_the_command_line_prints_certificates(app, mincho, tmp_path):
    supporter_id, _token, number = _liker(app, family_name="夕張")
    output = tmp_path / "certificates.pdf"
    result = app.test_cli_runner().invoke(
        args=["print", "certificates", "--not-yet-issued", "--layout", "horizontal",
              "--record-issue", "-o", str(output)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 1 certificates" in result.output
    assert number in _text(output.read_bytes())
    again = app.test_cli_runner().invoke(
        args=["print", "certificates", "--not-yet-issued", "-o", str(output)]
    )
    assert "Wrote 0 certificates" in again.output


def test_a_big_selection_is_printed_in_the_background_with_a_progress_page(
    app, signed_in, mincho, monkeypatch
):
    monkeypatch.setattr("crm.documents.views.BACKGROUND_FROM", 2)
    for family, kana in (
        ("髙橋", "タカハシ"),
        ("高山", "タカヤマ"),
        ("高田", "タカダ"),
    ):
        _liker(app, family_name=family, family_name_kana=kana)
    staff = signed_in("staff")
    response = staff.post_form(
        "/documents/certificates",
        {"query": "q=たか", "layout": "vertical", "record": "y"},
        token_from="/likers/?q=たか",
    )
    assert response.status_code == 302
    progress_page = response.headers["Location"]
    assert progress_page.startswith("/jobs/")
    status = staff.get(progress_page + ".json").get_json()
    assert status["state"] == "done"
    download = staff.get(status["download_url"])
    assert download.mimetype == "application/pdf"
    assert _page_count(download.data) == 3
    with app.app_context():
        assert len(db.session.scalars(select(Issuance)).all()) == 3


def test_a_name_with_a_rare_kanji_is_set_in_one_typeface(gothic):
    runs = gothic.runs("𠮷田 髙子")
    assert len(runs) == 1 and runs[0][0] == "IPAmjMincho"
    assert gothic.runs("高田 花子") == [("IPAexGothic", "高田 花子")]


def test_without_japanese_fonts_staff_are_warned_and_may_choose_substitutes(
    app, signed_in, monkeypatch
):
    from crm.printing import fonts

    monkeypatch.setattr(fonts, "SYSTEM_FONT_DIRS", ())
    with pytest.raises(fonts.FontsMissing):
        fonts.font_set("gothic")
    substitute = fonts.font_set("gothic", allow_cid=True)
    assert not substitute.embedded and substitute.missing("𠮷田") == ["𠮷"]
    supporter_id, _token, number = _liker(app, family_name="夕張")
    staff = signed_in("staff")
    form = {"supporter_id": str(supporter_id), "layout": "single", "record": "y"}
    warning = staff.post_form(
        "/documents/cards", form, token_from=f"/likers/{supporter_id}"
    )
    page = warning.get_data(as_text=True)
    assert warning.mimetype == "text/html" and "埋め込まれない代わりのフォント" in page
    with app.app_context():
        assert db.session.scalar(select(Issuance)) is None
    pdf = staff.post_form(
        "/documents/cards",
        {**form, "allow_cid": "y"},
        token_from=f"/likers/{supporter_id}",
    )
    assert pdf.mimetype == "application/pdf"
    assert number in _text(pdf.data)
