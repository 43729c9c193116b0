"""Likers business cards (名刺, 91 × 55 mm): one per page, or 10 on an A4 sheet.

The sheet fits the A-One 10面 family of perforated card paper: 2 columns × 5 rows,
no gaps, 14 mm left and right, 11 mm top and bottom. Printers shift the paper a
little: offsets in mm move every card (x to the right, y down).
"""

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from crm.printing.fonts import FontSet
from crm.printing.qr import draw_qr
from crm.printing.text import draw_text, fit_paragraph, fitting_size

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
    back_text: str = ""  # the programme's message on the back side


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


def _draw_logo(
    canvas: Canvas, logo: ImageReader, x, y, max_width, max_height, centre=True
):
    """The logo inside the box, keeping its shape; returns the width drawn."""
    width, height = logo.getSize()
    scale = min(max_width / width, max_height / height)
    drawn_width, drawn_height = width * scale, height * scale
    canvas.drawImage(
        logo,
        x + ((max_width - drawn_width) / 2 if centre else 0),
        y + (max_height - drawn_height) / 2,
        drawn_width,
        drawn_height,
        mask="auto",
    )
    return drawn_width


def draw_card(
    canvas: Canvas,
    card: CardData,
    x: float,
    y: float,
    fonts: FontSet,
    logo: ImageReader | None = None,
):
    """One card with its lower left corner at (x, y)."""
    text_width = CARD_WIDTH - QR_SIZE - 9 * mm
    left = x + 5 * mm
    # Everything stays 3 mm inside the cell: printers shift, and a colour bleeding
    # into the neighbouring card would show on it.
    if logo is not None:
        # Square logos stand 10 mm high, wide ones (a name in letters) up to 24 mm
        # wide; the heading starts after whichever it is.
        drawn = _draw_logo(canvas, logo, left, y + 38 * mm, 24 * mm, 10 * mm, False)
        heading_left = left + drawn + 2.5 * mm
    else:
        canvas.setFillColorRGB(*TOWN_BLUE)
        canvas.rect(left, y + CARD_HEIGHT - 5 * mm, 12 * mm, 1.2 * mm, stroke=0, fill=1)
        heading_left = left
    # The programme's name may run over the QR code's column (it stands higher);
    # the title line stops before it.
    heading_width = text_width - (heading_left - left)
    programme_width = x + CARD_WIDTH - 4 * mm - heading_left
    size = fitting_size(card.programme, fonts, programme_width, 11, 6)
    draw_text(canvas, card.programme, heading_left, y + 44 * mm, fonts, size)
    canvas.setFillColorRGB(0.25, 0.25, 0.25)
    size = fitting_size(card.title, fonts, heading_width, 8, 5.5)
    draw_text(canvas, card.title, heading_left, y + 38.5 * mm, fonts, size)
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


def draw_card_back(
    canvas: Canvas,
    card: CardData,
    x: float,
    y: float,
    fonts: FontSet,
    logo: ImageReader | None = None,
):
    """The back side: logo, programme name and its message, centred."""
    middle = x + CARD_WIDTH / 2
    top = y + CARD_HEIGHT - 6 * mm
    if logo is not None:
        _draw_logo(canvas, logo, middle - 20 * mm, top - 12 * mm, 40 * mm, 12 * mm)
        top -= 16 * mm
    canvas.setFillColorRGB(*TOWN_BLUE)
    size = fitting_size(card.programme, fonts, CARD_WIDTH - 14 * mm, 13, 7)
    draw_text(canvas, card.programme, middle, top - size, fonts, size, align="center")
    top -= size + 4 * mm
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    if card.back_text:
        size, lines = fit_paragraph(
            card.back_text, fonts, CARD_WIDTH - 14 * mm, top - y - 4 * mm, 8.5, 5.5,
            leading=1.6,
        )  # fmt: skip
        for line in lines:
            top -= size * 1.6
            draw_text(
                canvas, line, middle, top + size * 0.4, fonts, size, align="center"
            )
    canvas.setFillColorRGB(0, 0, 0)


def draw_crop_marks(canvas: Canvas, offsets: Offsets) -> None:
    """Cutting marks (トンボ) in the margins, in line with the grid's edges.

    For cutting cards from plain paper; they stay 2 mm off the grid so that no
    mark shows on a card.
    """
    page_width, page_height = A4
    left = SHEET_LEFT + offsets.x * mm
    top = page_height - SHEET_TOP - offsets.y * mm
    right = left + SHEET_COLUMNS * CARD_WIDTH
    bottom = top - SHEET_ROWS * CARD_HEIGHT
    canvas.saveState()
    canvas.setLineWidth(0.25)
    for column in range(SHEET_COLUMNS + 1):
        x = left + column * CARD_WIDTH
        canvas.line(x, top + 2 * mm, x, top + 6 * mm)
        canvas.line(x, bottom - 2 * mm, x, bottom - 6 * mm)
    for row in range(SHEET_ROWS + 1):
        y = top - row * CARD_HEIGHT
        canvas.line(left - 2 * mm, y, left - 8 * mm, y)
        canvas.line(right + 2 * mm, y, right + 8 * mm, y)
    canvas.restoreState()


def _sheets(
    cards: Iterable[CardData], first_cell: int
) -> Iterator[list[tuple[int, CardData]]]:
    """The cards sheet by sheet, each with its cell (0–9); the first sheet starts
    at first_cell, for a sheet of card paper that is partly used already."""
    sheet: list[tuple[int, CardData]] = []
    cell = first_cell
    for card in cards:
        sheet.append((cell, card))
        cell += 1
        if cell == CARDS_PER_SHEET:
            yield sheet
            sheet, cell = [], 0
    if sheet:
        yield sheet


PRINT_AT_FULL_SIZE = (
    "印刷の設定で「ページに合わせる」をオフにし、倍率100%で印刷してください。"
)


def _sheet_note(canvas: Canvas, fonts: FontSet, crop_marks: bool) -> None:
    canvas.setFillColorRGB(0.4, 0.4, 0.4)
    if crop_marks:  # between the marks at 14 mm and 105 mm
        size = fitting_size(PRINT_AT_FULL_SIZE, fonts, 80 * mm, 7, 4.5)
        draw_text(canvas, PRINT_AT_FULL_SIZE, 20 * mm, A4[1] - 5 * mm, fonts, size)
    else:
        draw_text(canvas, PRINT_AT_FULL_SIZE, SHEET_LEFT, A4[1] - 7 * mm, fonts, 7)
    canvas.setFillColorRGB(0, 0, 0)


def render_sheets(
    cards: Iterable[CardData],
    fonts: FontSet,
    offsets: Offsets = Offsets(),
    logo: ImageReader | None = None,
    back: bool = False,
    crop_marks: bool = False,
    progress: Callable[[int], None] | None = None,
    first_cell: int = 0,
) -> bytes:
    """A4 pages of 10 cards for perforated card paper; exactly A4, print at 100 %.

    back: each sheet is followed by its back side for duplex printing (flipped on
    the long edge, so the columns swap sides). first_cell (0–9, row by row) is
    where the first card goes, so that a partly used sheet can be used up.
    """
    if not 0 <= first_cell < CARDS_PER_SHEET:
        raise ValueError(f"first_cell {first_cell} is not 0–9")
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, initialFontName=fonts.name)
    canvas.setTitle("名刺")
    origins = card_origins(offsets)
    done = 0
    for sheet in _sheets(cards, first_cell):
        _sheet_note(canvas, fonts, crop_marks)
        if crop_marks:
            draw_crop_marks(canvas, offsets)
        for cell, card in sheet:
            x, y = origins[cell]
            draw_card(canvas, card, x, y, fonts, logo)
        canvas.showPage()
        if back:
            if crop_marks:
                draw_crop_marks(canvas, offsets)
            for cell, card in sheet:
                x, y = origins[cell + (1 if cell % 2 == 0 else -1)]
                draw_card_back(canvas, card, x, y, fonts, logo)
            canvas.showPage()
        done += len(sheet)
        if progress is not None and done % 100 == 0:
            progress(done)
    canvas.save()
    return buffer.getvalue()


def render_single_cards(
    cards: Iterable[CardData],
    fonts: FontSet,
    logo: ImageReader | None = None,
    back: bool = False,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """One card per 91 × 55 mm page, for card printers (back after front)."""
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(CARD_WIDTH, CARD_HEIGHT), initialFontName=fonts.name
    )
    canvas.setTitle("名刺")
    for done, card in enumerate(cards, start=1):
        draw_card(canvas, card, 0, 0, fonts, logo)
        canvas.showPage()
        if back:
            draw_card_back(canvas, card, 0, 0, fonts, logo)
            canvas.showPage()
        if progress is not None and done % 100 == 0:
            progress(done)
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
