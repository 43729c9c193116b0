"""The printing foundation: embedded Japanese fonts, per-character fallback, text that
fits, and QR codes that real tools decode. No app and no database needed.

Checked with tools nobody on this project wrote: poppler's pdftotext and pdffonts,
zbar's zbarimg. Skipped when they or the fonts are missing, unless
CRM_REQUIRE_PRINT_TOOLS=1 (CI installs them).
"""

import shutil
import subprocess

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from crm.printing.qr import dark_runs, draw_qr, qr_matrix
from crm.printing.text import TextProblem, draw_text, fitting_size
from tests.conftest import print_tools_unavailable

URL = "https://likers.example.jp/v/AbCdEfGhIjKlMnOpQrStUv"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        print_tools_unavailable(f"{name} is not installed (poppler-utils, zbar-tools)")
    return path


def test_rare_kanji_get_a_font_that_has_them(gothic):
    assert gothic.name == "IPAexGothic"
    assert gothic.font_for("髙") == "IPAexGothic"
    assert gothic.font_for("﨑") == "IPAexGothic"
    assert gothic.font_for("𠮷") == "IPAmjMincho"  # extension B: the fallback
    # The whole name in the font that has 𠮷, not two typefaces side by side …
    assert gothic.runs("𠮷田 髙子") == [("IPAmjMincho", "𠮷田 髙子")]
    # … unless no font has all of it: then each character where it can be.
    # (a private-use character: no font has it; missing() reports it before print)
    assert gothic.runs("𠮷\U000f0000") == [
        ("IPAmjMincho", "𠮷"),
        ("IPAexGothic", "\U000f0000"),
    ]
    assert gothic.missing("𠮷田 髙子") == []
    assert gothic.missing("夕張\U000f0000") == ["\U000f0000"]  # private use: nobody


def test_long_names_shrink_to_fit_and_hopeless_ones_are_refused(gothic):
    assert fitting_size("夕張 花子", gothic, 60 * mm, 18, 9) == 18
    long_name = "寿限無寿限無五劫の擦り切れ海砂利水魚"
    size = fitting_size(long_name, gothic, 60 * mm, 18, 7)
    assert 7 <= size < 18
    assert gothic.width(long_name, size) <= 60 * mm + 0.01
    with pytest.raises(TextProblem) as refused:
        fitting_size(long_name * 3, gothic, 60 * mm, 18, 9)
    assert refused.value.too_long
    with pytest.raises(TextProblem) as missing:
        fitting_size("夕張\U000f0000", gothic, 60 * mm, 18, 9)
    assert missing.value.missing == ["\U000f0000"]


def test_qr_runs_cover_exactly_the_dark_modules():
    matrix = qr_matrix(URL)
    assert len(matrix) == 33  # version 4 at level M for a 53-character URL
    dark = {(y, x) for y, row in enumerate(matrix) for x, m in enumerate(row) if m}
    covered = {(y, x + i) for y, x, length in dark_runs(matrix) for i in range(length)}
    assert covered == dark


def test_a_page_with_rare_kanji_and_a_qr_code_reads_back_with_real_tools(
    gothic, tmp_path
):
    pdftotext, pdffonts, pdftoppm, zbarimg = map(
        _tool, ("pdftotext", "pdffonts", "pdftoppm", "zbarimg")
    )
    path = tmp_path / "page.pdf"
    canvas = Canvas(str(path), pagesize=A4, initialFontName=gothic.name)
    draw_text(canvas, "髙﨑 𠮷郎 様", 105 * mm, 250 * mm, gothic, 28, align="center")
    draw_text(canvas, "登録番号 YL-00012 令和元年5月1日", 20 * mm, 230 * mm, gothic, 12)
    draw_qr(canvas, URL, 20 * mm, 180 * mm, 25 * mm)
    canvas.save()

    text = subprocess.run(
        [pdftotext, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "髙﨑 𠮷郎 様" in text
    assert "登録番号 YL-00012 令和元年5月1日" in text

    fonts = subprocess.run(
        [pdffonts, str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    embedded = {line.split()[0].split("+")[-1]: line.split()[-5] for line in fonts}
    assert embedded == {"IPAexGothic": "yes", "IPAmjMincho": "yes"}

    subprocess.run(
        [pdftoppm, "-r", "300", "-png", str(path), str(tmp_path / "page")], check=True
    )
    decoded = subprocess.run(
        [zbarimg, "-q", str(tmp_path / "page-1.png")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert decoded == [f"QR-Code:{URL}"]
