"""The A4 poster of an event's registration link: a big QR code and a few words."""

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from crm.printing.fonts import font_set
from crm.printing.qr import draw_qr
from crm.printing.text import draw_text, fitting_size, wrap_text


def render_poster(
    url: str,
    programme: str,
    event_title: str,
    dates: str,
    font_dirs: tuple[str, ...] = (),
    allow_cid: bool = True,
) -> bytes:
    """One A4 page: the programme, the event, 「スマートフォンで登録」 and the code.

    Raises FontsMissing without a Japanese font (unless allow_cid).
    """
    fonts = font_set("gothic", font_dirs, allow_cid=allow_cid)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{programme} {event_title}")
    width, height = A4
    margin = 18 * mm
    usable = width - 2 * margin
    y = height - margin - 14 * mm

    def line(text: str, size: float, min_size: float, gap: float) -> None:
        nonlocal y
        size = fitting_size(text, fonts, usable, size, min_size)
        draw_text(canvas, text, width / 2, y, fonts, size, align="center")
        y -= size + gap

    line(programme, 30, 14, 8 * mm)
    for part in wrap_text(event_title, fonts, 22, usable)[:3]:
        line(part, 22, 10, 3 * mm)
    if dates:
        line(dates, 16, 9, 4 * mm)
    y -= 4 * mm
    line("スマートフォンで登録できます", 26, 14, 2 * mm)
    line("カメラでQRコードを読み取ってください", 16, 10, 6 * mm)
    size = min(130 * mm, y - margin - 24 * mm)
    draw_qr(canvas, url, (width - size) / 2, y - size, size)
    y -= size + 10 * mm
    for part in wrap_text(url, fonts, 10, usable):
        line(part, 10, 6, 1 * mm)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
