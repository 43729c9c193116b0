"""The registration certificate (登録感謝状) on A4, in two layouts.

- horizontal: A4 portrait, lines left to right; the date in the era or Western.
- vertical: A4 landscape in the manner of a 賞状: columns right to left (title,
  name, text, date in kanji numerals, issuer with the seal over the name's end).

Both carry the registration number and the QR code of the Liker's public page in a
bottom corner. Text shrinks to fit its place and refuses (TextProblem) rather than
overflow or print empty boxes.
"""

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from crm.printing.fonts import FontSet
from crm.printing.qr import draw_qr
from crm.printing.text import TextProblem, draw_text, fit_paragraph, fitting_size
from crm.printing.vertical import (
    cells,
    column_length,
    draw_column,
    draw_vertical,
    fit_columns,
)

LAYOUTS = ("vertical", "horizontal")
FRAME_COLOUR = (0x8A / 255, 0x6D / 255, 0x2B / 255)  # a quiet gold
QR_SIZE = 24 * mm  # certificates hang on walls: a larger code than the card's
SEAL_SIZE = 24 * mm


@dataclass(frozen=True)
class CertificateData:
    """What one certificate says; url is what its QR code holds (no personal data)."""

    title: str  # 感謝状
    name: str
    body: str  # placeholders already filled in
    date: str  # 令和八年十一月二十三日 (vertical) or 令和8年11月23日 / 2026年11月23日
    issuer_title: str  # 夕張市長
    issuer_name: str
    number: str
    url: str
    programme: str


@dataclass(frozen=True)
class Images:
    """Uploaded images (ImageReader) or None: the programme logo and the seal (公印)."""

    logo: ImageReader | None = None
    seal: ImageReader | None = None


def _frame(canvas: Canvas, width: float, height: float) -> None:
    canvas.saveState()
    canvas.setStrokeColorRGB(*FRAME_COLOUR)
    canvas.setLineWidth(2.2)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setLineWidth(0.6)
    canvas.rect(14.5 * mm, 14.5 * mm, width - 29 * mm, height - 29 * mm)
    canvas.restoreState()


def _image(
    canvas: Canvas, image: ImageReader, x, y, max_width, max_height, centre=False
):
    """Draw image inside the box (x, y, max_width, max_height), keeping its shape."""
    width, height = image.getSize()
    scale = min(max_width / width, max_height / height)
    drawn_width, drawn_height = width * scale, height * scale
    if centre:
        x += (max_width - drawn_width) / 2
        y += (max_height - drawn_height) / 2
    canvas.drawImage(image, x, y, drawn_width, drawn_height, mask="auto")


def _seal(canvas: Canvas, seal: ImageReader | None, x_centre: float, y_centre: float):
    if seal is not None:
        half = SEAL_SIZE / 2
        _image(
            canvas, seal, x_centre - half, y_centre - half, SEAL_SIZE, SEAL_SIZE, True
        )


def _number_and_code(canvas: Canvas, data: CertificateData, fonts: FontSet) -> None:
    """The registration number and the QR code, in the bottom left corner."""
    x, y = 18 * mm, 18 * mm
    draw_qr(canvas, data.url, x, y, QR_SIZE)
    canvas.saveState()
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    draw_text(
        canvas, f"登録番号　{data.number}", x + QR_SIZE + 2 * mm, y + 13 * mm, fonts, 10
    )
    canvas.setFillColorRGB(0.35, 0.35, 0.35)
    draw_text(
        canvas, "QRコードから登録を確かめられます", x + QR_SIZE + 2 * mm, y + 8 * mm,
        fonts, 7,
    )  # fmt: skip
    canvas.restoreState()


def _spaced(canvas, text, x_centre, y, fonts, size, spacing):
    """A title with spacing (in em) between its characters, centred on x_centre."""
    widths = [fonts.width(char, size) for char in text]
    total = sum(widths) + spacing * size * (len(text) - 1)
    x = x_centre - total / 2
    for char, width in zip(text, widths, strict=True):
        draw_text(canvas, char, x, y, fonts, size)
        x += width + spacing * size


def draw_horizontal(
    canvas: Canvas, data: CertificateData, fonts: FontSet, images: Images
):
    """A4 portrait, lines left to right."""
    width, height = A4
    left, right = 30 * mm, width - 30 * mm
    _frame(canvas, width, height)
    if images.logo is not None:
        _image(
            canvas,
            images.logo,
            width / 2 - 40 * mm,
            height - 45 * mm,
            80 * mm,
            20 * mm,
            True,
        )
    title_size = fitting_size(data.title, fonts, right - left, 40, 20)
    _spaced(canvas, data.title, width / 2, height - 72 * mm, fonts, title_size, 0.6)

    name_y = height - 102 * mm
    name_size = fitting_size(data.name, fonts, right - left - 22 * mm, 26, 14)
    draw_text(canvas, data.name, left + 4 * mm, name_y, fonts, name_size)
    name_end = left + 4 * mm + fonts.width(data.name, name_size)
    draw_text(canvas, "様", name_end + 5 * mm, name_y, fonts, 20)
    canvas.setLineWidth(0.5)
    canvas.line(left, name_y - 3 * mm, right, name_y - 3 * mm)

    size, lines = fit_paragraph(
        data.body, fonts, right - left - 8 * mm, 88 * mm, 16, 9, leading=1.9
    )
    y = height - 122 * mm
    for line in lines:
        draw_text(canvas, line, left + 4 * mm, y, fonts, size)
        y -= size * 1.9

    date_size = fitting_size(data.date, fonts, right - left, 14, 9)
    draw_text(canvas, data.date, left + 4 * mm, 92 * mm, fonts, date_size)
    issuer = f"{data.issuer_title}　{data.issuer_name}".strip("　")
    issuer_size = fitting_size(issuer, fonts, right - left - 40 * mm, 18, 10)
    # A seal (公印) is pressed over the end of the name, about half on its last
    # character: leave it room on the right.
    issuer_right = right - SEAL_SIZE * 0.6
    draw_text(canvas, issuer, issuer_right, 72 * mm, fonts, issuer_size, align="right")
    last_width = fonts.width(issuer[-1], issuer_size)
    _seal(
        canvas, images.seal, issuer_right - last_width / 2 + SEAL_SIZE / 2,
        72 * mm + issuer_size * 0.38,
    )  # fmt: skip
    _number_and_code(canvas, data, fonts)


def draw_vertical_certificate(
    canvas: Canvas, data: CertificateData, fonts: FontSet, images: Images
):
    """A4 landscape in the manner of a 賞状: columns right to left."""
    width, height = landscape(A4)
    top, bottom = height - 28 * mm, 30 * mm
    column_height = top - bottom
    _frame(canvas, width, height)
    if images.logo is not None:
        _image(canvas, images.logo, 20 * mm, height - 40 * mm, 60 * mm, 20 * mm)

    # The title, the name and the issuer keep their sizes where they can; the body
    # takes what is left and shrinks to fit.
    title_size = 44.0
    while (
        column_length(cells(data.title, fonts), title_size, 0.7) > column_height * 0.6
    ):
        title_size -= 1
        if title_size < 20:
            raise TextProblem(data.title, [], too_long=True)
    name_size = 28.0
    name_room = column_height - 14 * mm - 2.2 * 24
    while column_length(cells(data.name, fonts), name_size) > name_room:
        name_size -= 0.5
        if name_size < 14:
            raise TextProblem(data.name, [], too_long=True)
    issuer_size = 20.0
    issuer_title_cells = cells(data.issuer_title, fonts)
    issuer_name_cells = cells(data.issuer_name, fonts)

    def issuer_length(size):
        gap = 1.0 if data.issuer_name else 0.0
        return column_length(issuer_title_cells, size) + (
            column_length(issuer_name_cells, size) + gap * size
        )

    while issuer_length(issuer_size) > column_height - 20 * mm - SEAL_SIZE / 2:
        issuer_size -= 0.5
        if issuer_size < 10:
            raise TextProblem(data.issuer_title + data.issuer_name, [], too_long=True)
    for text in (data.title, data.name, data.issuer_title, data.issuer_name, data.date):
        if missing := fonts.missing(text):
            raise TextProblem(text, missing)

    right_edge = width - 30 * mm
    body_right = right_edge - title_size * 1.6 - name_size * 1.9
    date_size = 15.0
    tail = date_size * 2.2 + issuer_size * 2.4  # the date and issuer columns
    body_room = body_right - tail - 75 * mm  # keep the bottom left corner for the code
    size, columns = fit_columns(
        data.body, fonts, column_height, body_room, 20, 10, pitch=1.9
    )

    # Natural spacing first; a short text leaves room, shared out between the
    # blocks (up to 25 mm each) so that the page looks filled, as a 賞状 does.
    natural = (
        title_size * 0.8 + name_size * 1.6 + size * 1.5 + size * 1.9 * len(columns)
        + date_size * 1.8 + issuer_size * 1.2
    )  # fmt: skip
    spare = (right_edge - title_size / 2) - natural - 110 * mm
    gap = min(max(spare, 0) / 3, 35 * mm)

    x = right_edge - title_size / 2
    draw_vertical(canvas, data.title, x, top, fonts, title_size, 0.7)
    x -= title_size * 0.8 + name_size * 1.1 + gap
    end = draw_vertical(canvas, data.name, x, top - 14 * mm, fonts, name_size)
    draw_vertical(canvas, "様", x, end - name_size * 0.8, fonts, 24)
    x -= name_size * 0.5 + size * 1.5 + gap
    for column in columns:
        draw_column(canvas, column, x, top, fonts, size)
        x -= size * 1.9
    x -= date_size * 0.6 + gap
    draw_vertical(canvas, data.date, x, top - 2 * date_size, fonts, date_size)
    x -= date_size * 1.2 + issuer_size * 1.2
    # The issuer stands at the foot of its column, the seal over the name's end.
    issuer_top = bottom + SEAL_SIZE / 2 + issuer_length(issuer_size)
    end = draw_column(canvas, issuer_title_cells, x, issuer_top, fonts, issuer_size)
    if data.issuer_name:
        end = draw_column(
            canvas, issuer_name_cells, x, end - issuer_size, fonts, issuer_size
        )
    # The seal overlaps about half of the name's last character, from below.
    _seal(canvas, images.seal, x, end + issuer_size / 2 - SEAL_SIZE / 2)
    _number_and_code(canvas, data, fonts)


def render_certificates(
    certificates: Iterable[CertificateData],
    layout: str,
    fonts: FontSet,
    images: Images = Images(),
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """One A4 certificate per page; exactly A4, to print at 100 %."""
    vertical = layout == "vertical"
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=landscape(A4) if vertical else A4,
        initialFontName=fonts.name,
    )
    canvas.setTitle("感謝状")
    draw = draw_vertical_certificate if vertical else draw_horizontal
    for count, data in enumerate(certificates, start=1):
        draw(canvas, data, fonts, images)
        canvas.showPage()
        if progress is not None and count % 50 == 0:
            progress(count)
    canvas.save()
    return buffer.getvalue()
