"""Business cards as staff print them: 10 on an A4 sheet of perforated card paper,
or one per page; every QR code must decode to its own card's address."""

import shutil
import subprocess

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from crm.printing.business_card import (
    CARD_HEIGHT,
    CARD_WIDTH,
    CardData,
    Offsets,
    card_origins,
    render_sheets,
    render_single_cards,
)
from crm.printing.text import TextProblem
from tests.conftest import print_tools_unavailable

NAMES = [
    ("髙﨑 𠮷郎", "タカサキ ヨシロウ"), ("夕張 花子", "ユウバリ ハナコ"),
    ("寿限無寿限無五劫の擦り切れ", "ジュゲム"), ("John Smith", "John Smith"),
]  # fmt: skip


def _cards(count: int) -> list[CardData]:
    return [
        CardData(
            programme="夕張Likers!",
            title="夕張Likers! 登録者",
            name=NAMES[i % len(NAMES)][0],
            reading=NAMES[i % len(NAMES)][1],
            number=f"YL-{i + 1:05d}",
            url=f"https://likers.example.jp/v/Card{i + 1:03d}xAbCdEfGhIjKlMn",
        )
        for i in range(count)
    ]


def _run(*command) -> str:
    tool = shutil.which(command[0])
    if tool is None:
        print_tools_unavailable(
            f"{command[0]} is not installed (poppler-utils, zbar-tools)"
        )
    return subprocess.run(
        [tool, *command[1:]], capture_output=True, text=True, check=True
    ).stdout


def _pdfinfo(path) -> tuple[int, tuple[float, float]]:
    """Number of pages and the first page's size in points."""
    fields = dict(
        line.split(":", 1)
        for line in _run("pdfinfo", str(path)).splitlines()
        if ":" in line
    )
    width, _x, height = fields["Page size"].split()[:3]
    return int(fields["Pages"]), (float(width), float(height))


def test_ten_cards_fill_the_a4_sheet_exactly_like_a_one_paper():
    origins = card_origins()
    assert len(origins) == 10
    width, height = A4
    for x, y in origins:
        assert x >= 14 * mm - 0.01 and x + CARD_WIDTH <= width - 14 * mm + 0.01
        assert y >= 11 * mm - 0.01 and y + CARD_HEIGHT <= height - 11 * mm + 0.01
    # No gaps: neighbours touch.
    assert origins[1][0] - origins[0][0] == pytest.approx(91 * mm)
    assert origins[0][1] - origins[2][1] == pytest.approx(55 * mm)
    # Offsets move every card: x to the right, y down.
    moved = card_origins(Offsets(x=1.5, y=-2))
    for (x, y), (mx, my) in zip(origins, moved, strict=True):
        assert mx - x == pytest.approx(1.5 * mm)
        assert my - y == pytest.approx(2 * mm)


def test_every_qr_code_on_a_sheet_decodes_to_its_own_card(gothic, tmp_path):
    cards = _cards(10)
    path = tmp_path / "cards.pdf"
    path.write_bytes(render_sheets(cards, gothic))
    pages, size = _pdfinfo(path)
    assert pages == 1
    assert size == pytest.approx((595.276, 841.89), abs=0.01)  # exactly A4
    # Each card read alone, as a phone does: zbar reading ten codes in one image
    # sometimes skips one for reasons of its own (docs/benchmarks.md, zbar#182).
    scale = 300 / 72
    for index, (card, (x, y)) in enumerate(zip(cards, card_origins(), strict=True)):
        cell = [round(x * scale), round((A4[1] - y - CARD_HEIGHT) * scale),
                round(CARD_WIDTH * scale), round(CARD_HEIGHT * scale)]  # fmt: skip
        png = tmp_path / f"cell-{index}"
        _run("pdftoppm", "-r", "300", "-png", "-singlefile", "-x", str(cell[0]),
             "-y", str(cell[1]), "-W", str(cell[2]), "-H", str(cell[3]),
             str(path), str(png))  # fmt: skip
        decoded = _run("zbarimg", "-q", f"{png}.png").splitlines()
        assert decoded == [f"QR-Code:{card.url}"], index
    text = _run("pdftotext", "-layout", str(path), "-")
    for card in cards:
        assert card.name in text and card.number in text


def test_a_sheet_holds_ten_cards_and_the_rest_go_on_the_next(gothic, tmp_path):
    path = tmp_path / "cards.pdf"
    path.write_bytes(render_sheets(_cards(13), gothic))
    assert _pdfinfo(path)[0] == 2


def test_single_cards_are_91_by_55_mm_pages(gothic, tmp_path):
    path = tmp_path / "card.pdf"
    path.write_bytes(render_single_cards(_cards(2), gothic))
    pages, size = _pdfinfo(path)
    assert pages == 2
    assert size == pytest.approx((91 * mm, 55 * mm), abs=0.01)
    _run(
        "pdftoppm",
        "-r",
        "300",
        "-png",
        "-f",
        "1",
        "-l",
        "1",
        str(path),
        str(tmp_path / "c"),
    )
    assert _run("zbarimg", "-q", str(tmp_path / "c-1.png")).splitlines() == [
        f"QR-Code:{_cards(1)[0].url}"
    ]


def test_a_name_too_long_for_the_card_is_refused_not_clipped(gothic):
    card = _cards(1)[0]
    too_long = CardData(**{**card.__dict__, "name": "寿限無" * 20})
    with pytest.raises(TextProblem) as refused:
        render_sheets([too_long], gothic)
    assert refused.value.too_long


def test_the_back_side_follows_each_sheet_mirrored_for_duplex(gothic, tmp_path):
    cards = [
        CardData(**{**card.__dict__, "back_text": f"裏面 {card.number}"})
        for card in _cards(3)
    ]
    path = tmp_path / "duplex.pdf"
    path.write_bytes(render_sheets(cards, gothic, back=True))
    assert _pdfinfo(path)[0] == 2
    front = _run("pdftotext", "-f", "1", "-l", "1", str(path), "-")
    assert "裏面" not in front
    # Flipped on the long edge, the back of the top-left card is at the top right.
    half = ["-W", "297", "-H", "842", "-f", "2", "-l", "2"]
    left = _run("pdftotext", "-x", "0", "-y", "0", *half, str(path), "-")
    right = _run("pdftotext", "-x", "298", "-y", "0", *half, str(path), "-")
    assert "裏面 YL-00002" in left and "裏面 YL-00001" not in left
    assert "裏面 YL-00001" in right and "裏面 YL-00003" in right
    single = tmp_path / "single.pdf"
    single.write_bytes(render_single_cards(cards[:1], gothic, back=True))
    assert _pdfinfo(single)[0] == 2


def test_crop_marks_sit_in_the_margin_in_line_with_the_cards_edges(gothic, tmp_path):
    from PIL import Image

    def darkest_near(path, x_mm, y_mm):
        _run("pdftoppm", "-r", "300", "-gray", "-singlefile", str(path), str(path))
        page = Image.open(f"{path}.pgm")
        x, y = round(x_mm / 25.4 * 300), round(y_mm / 25.4 * 300)
        return min(
            page.getpixel((i, j))
            for i in range(x - 3, x + 4)
            for j in range(y - 3, y + 4)
        )

    marked, plain = tmp_path / "marked.pdf", tmp_path / "plain.pdf"
    marked.write_bytes(render_sheets(_cards(10), gothic, crop_marks=True))
    plain.write_bytes(render_sheets(_cards(10), gothic))
    # Above the right column's right edge (x 196 mm), 7 mm from the top of the page.
    assert darkest_near(marked, 196, 7) < 128
    assert darkest_near(plain, 196, 7) > 200
    # Left of the first row's bottom edge (y 66 mm), 8 mm from the left of the page.
    assert darkest_near(marked, 8, 66) < 128
    assert darkest_near(plain, 8, 66) > 200
    # Never on a card: just inside the top left corner stays white.
    assert darkest_near(marked, 15, 12) > 200


def test_a_partly_used_sheet_starts_at_the_chosen_cell(gothic, tmp_path):
    path = tmp_path / "rest.pdf"
    path.write_bytes(render_sheets(_cards(3), gothic, first_cell=8))
    assert _pdfinfo(path)[0] == 2  # cells 9 and 10, then the top left of sheet 2
    bottom_row = ["-x", "0", "-y", str(round(842 - 11 * 72 / 25.4 - 55 * 72 / 25.4)),
                  "-W", "595", "-H", "160", "-f", "1", "-l", "1"]  # fmt: skip
    text = _run("pdftotext", *bottom_row, str(path), "-")
    assert "YL-00001" in text and "YL-00002" in text
    second = _run("pdftotext", "-f", "2", "-l", "2", str(path), "-")
    assert "YL-00003" in second and "YL-00001" not in second
