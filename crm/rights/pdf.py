"""The disclosure package as a readable A4 PDF: plain blocks in, PDF bytes out.

No Flask and no database here: the caller turns the package into blocks with
Japanese labels (crm.rights.document). Text is set in the embedded fonts of
crm.printing.fonts, a character at a time falling back to IPAmj Mincho (𠮷).
"""

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from crm.printing.fonts import FontSet
from crm.printing.text import TextProblem, draw_text, wrap_text

MARGIN = 18 * mm
LABEL_WIDTH = 45 * mm
SIZES = {"title": 16, "heading": 12, "field": 9.5, "row": 9, "note": 8.5}


@dataclass(frozen=True)
class Block:
    """kind: title, heading, field (label and value), row or note."""

    kind: str
    text: str
    label: str = ""


class _Pages:
    def __init__(self, canvas: Canvas, fonts: FontSet, footer: str):
        self.canvas, self.fonts, self.footer = canvas, fonts, footer
        self.width, self.height = A4
        self.page = 0
        self.y = 0.0
        self._new_page()

    def _new_page(self) -> None:
        if self.page:
            self.canvas.showPage()
        self.page += 1
        self.y = self.height - MARGIN
        draw_text(
            self.canvas, f"{self.footer}  {self.page}", self.width / 2, 10 * mm,
            self.fonts, 8, align="center",
        )  # fmt: skip

    def room(self, needed: float) -> None:
        if self.y - needed < MARGIN:
            self._new_page()

    def lines(self, text: str, x: float, width: float, size: float) -> list[str]:
        missing = self.fonts.missing(text)
        if missing:
            raise TextProblem(text, missing)
        return wrap_text(text, self.fonts, size, width) or [""]

    def block(self, block: Block) -> None:
        size = SIZES[block.kind]
        leading = size * 1.5
        left, full = MARGIN, self.width - 2 * MARGIN
        if block.kind in ("title", "heading"):
            gap = leading * (0.8 if block.kind == "heading" else 0)
            self.room(gap + leading * 2)
            self.y -= gap + size
            draw_text(self.canvas, block.text, left, self.y, self.fonts, size)
            self.y -= leading - size
            if block.kind == "heading":
                self.canvas.setLineWidth(0.5)
                self.canvas.line(left, self.y + 2, left + full, self.y + 2)
            self.y -= leading * 0.3
            return
        if block.kind == "field":
            x, width = left + LABEL_WIDTH, full - LABEL_WIDTH
        else:
            x, width = left + (4 * mm if block.kind == "row" else 0), full
        lines = self.lines(block.text, x, width, size)
        self.room(leading * min(len(lines), 3))
        if block.kind == "field":
            draw_text(self.canvas, block.label, left, self.y - size, self.fonts, size)
        for line in lines:
            self.room(leading)
            self.y -= leading
            draw_text(self.canvas, line, x, self.y + leading - size, self.fonts, size)
        self.y -= size * 0.3


def render_blocks(
    blocks: list[Block], fonts: FontSet, title: str, footer: str
) -> bytes:
    """An A4 portrait PDF of the blocks, page numbers at the foot."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, initialFontName=fonts.name)
    canvas.setTitle(title)
    pages = _Pages(canvas, fonts, footer)
    for block in blocks:
        pages.block(block)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
