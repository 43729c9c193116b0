"""Likers business cards (名刺, 91 × 55 mm): one per page, or 10 on an A4 sheet.

The sheet fits the A-One 10面 family of perforated card paper: 2 columns × 5 rows,
no gaps, 14 mm left and right, 11 mm top and bottom. Printers shift the paper a
little: offsets in mm move every card (x to the right, y down).
"""

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from crm.printing.fonts import FontSet
from crm.printing.qr import draw_qr
from crm.printing.text import draw_text, fitting_size

CARD_WIDTH, CARD_HEIGHT = 91 * mm, 55 * mm
SHEET_COLUMNS, SHEET_ROWS = 2, 5
SHEET_LEFT, SHEET_TOP = 14 * mm, 11 * mm
CARDS_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS
QR_SIZE = 22 * mm  # with its quiet zone: about 19 mm of code, easy for phones
TOWN_BLUE = (0x1F / 255, 0x5F / 255, 0x8B / 255)


@dataclass(frozen=True)
class CardData:
    """What one card shows; url is what its QR code holds (no personal data)."""

    programme: str
    title: str  # e.g. 「夕張Likers! 登録者」
    name: str
    reading: str  # kana or romaji, under the name
    number: str
    url: str


@dataclass(frozen=True)
class Offsets:
    """Printer correction in mm: x moves right, y moves down."""

    x: float = 0.0
    y: float = 0.0


def card_origins(offsets: Offsets = Offsets()) -> list[tuple[float, float]]:
    """Lower left corners (points) of the 10 cells on an A4 sheet, row by row."""
    page_width, page_height = A4
    return [
        (
            SHEET_LEFT + column * CARD_WIDTH + offsets.x * mm,
            page_height - SHEET_TOP - (row + 1) * CARD_HEIGHT - offsets.y * mm,
        )
        for row in range(SHEET_ROWS)
        for column in range(SHEET_COLUMNS)
    ]


def draw_card(canvas: Canvas, card: CardData, x: float, y: float, fonts: FontSet):
    """One card with its lower left corner at (x, y)."""
    text_width = CARD_WIDTH - QR_SIZE - 9 * mm
    left = x + 5 * mm
    # Everything stays 3 mm inside the cell: printers shift, and a colour bleeding
    # into the neighbouring card would show on it.
    canvas.setFillColorRGB(*TOWN_BLUE)
    canvas.rect(left, y + CARD_HEIGHT - 5 * mm, 12 * mm, 1.2 * mm, stroke=0, fill=1)
    size = fitting_size(card.programme, fonts, text_width, 11, 7)
    draw_text(canvas, card.programme, left, y + 44 * mm, fonts, size)
    canvas.setFillColorRGB(0.25, 0.25, 0.25)
    size = fitting_size(card.title, fonts, text_width, 8, 6)
    draw_text(canvas, card.title, left, y + 38.5 * mm, fonts, size)
    canvas.setFillColorRGB(0, 0, 0)
    size = fitting_size(card.name, fonts, text_width, 18, 9)
    draw_text(canvas, card.name, left, y + 24 * mm, fonts, size)
    if card.reading:
        size = fitting_size(card.reading, fonts, text_width, 8, 5.5)
        draw_text(canvas, card.reading, left, y + 18.5 * mm, fonts, size)
    draw_text(canvas, f"No. {card.number}", left, y + 7 * mm, fonts, 9)
    draw_qr(
        canvas,
        card.url,
        x + CARD_WIDTH - QR_SIZE - 3 * mm,
        y + (CARD_HEIGHT - QR_SIZE) / 2,
        QR_SIZE,
    )


def _chunks(cards: Iterable[CardData], size: int) -> Iterator[list[CardData]]:
    batch: list[CardData] = []
    for card in cards:
        batch.append(card)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def render_sheets(
    cards: Iterable[CardData], fonts: FontSet, offsets: Offsets = Offsets()
) -> bytes:
    """A4 pages of 10 cards for perforated card paper; exactly A4, print at 100 %."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, initialFontName=fonts.name)
    canvas.setTitle("名刺")
    origins = card_origins(offsets)
    for batch in _chunks(cards, CARDS_PER_SHEET):
        canvas.setFillColorRGB(0.4, 0.4, 0.4)
        draw_text(
            canvas,
            "印刷の設定で「ページに合わせる」をオフにし、倍率100%で印刷してください。",
            SHEET_LEFT,
            A4[1] - 7 * mm,
            fonts,
            7,
        )
        for card, (x, y) in zip(batch, origins, strict=False):
            draw_card(canvas, card, x, y, fonts)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_single_cards(cards: Iterable[CardData], fonts: FontSet) -> bytes:
    """One card per 91 × 55 mm page, for card printers."""
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(CARD_WIDTH, CARD_HEIGHT), initialFontName=fonts.name
    )
    canvas.setTitle("名刺")
    for card in cards:
        draw_card(canvas, card, 0, 0, fonts)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_calibration(fonts: FontSet, offsets: Offsets = Offsets()) -> bytes:
    """One A4 page with the outline of every card cell where the offsets put it.

    Printed on plain paper and laid on the card paper against the light, it shows
    how far the printer shifts: the lines should sit on the perforations.
    """
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, initialFontName=fonts.name)
    canvas.setTitle("名刺用紙の位置合わせ")
    canvas.setLineWidth(0.3)
    for x, y in card_origins(offsets):
        canvas.rect(x, y, CARD_WIDTH, CARD_HEIGHT, stroke=1, fill=0)
        for dx, dy in (
            (0, 0),
            (CARD_WIDTH, 0),
            (0, CARD_HEIGHT),
            (CARD_WIDTH, CARD_HEIGHT),
        ):
            canvas.line(x + dx - 3 * mm, y + dy, x + dx + 3 * mm, y + dy)
            canvas.line(x + dx, y + dy - 3 * mm, x + dx, y + dy + 3 * mm)
    lines = (
        "名刺用紙の位置合わせ（A4・倍率100%で普通紙に印刷）",
        f"いまの補正：右へ {offsets.x:+.1f} mm、下へ {offsets.y:+.1f} mm",
        "線がミシン目より右なら「右へ」を減らす。",
        "線がミシン目より下なら「下へ」を減らす。",
    )
    x0, y0 = card_origins(offsets)[4]  # the middle row, left card
    for i, line in enumerate(lines):
        size = fitting_size(line, fonts, CARD_WIDTH - 10 * mm, 9, 6)
        draw_text(canvas, line, x0 + 5 * mm, y0 + 42 * mm - i * 6 * mm, fonts, size)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
