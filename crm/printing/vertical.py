"""Vertical writing (縦書き): characters top to bottom, columns right to left.

reportlab only sets text horizontally, so each character gets a cell of its own:
- most characters stand upright in a 1 em cell;
- the long vowel mark, dashes, wave dashes and brackets are turned 90° clockwise
  (ー becomes a vertical bar, 「 opens downwards);
- small kana and 、。 move to the upper right of their cell, where vertical
  typesetting puts them;
- one or two half-width digits or letters stand side by side in one cell (縦中横);
  longer half-width runs ("Likers!") lie on their side as one piece.
"""

import re
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from crm.printing.fonts import FontSet
from crm.printing.text import TextProblem, break_lines

ROTATED = set("ー－―—‐-～〜~…‥＝=（）()［］[]｛｝{}「」『』【】〔〕〈〉《》＜＞<>→←")
SMALL_KANA = set("ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ")
CORNER_PUNCTUATION = set("、。，．")
# Where the glyph's em box sits around the baseline in the Japanese fonts used.
ASCENT, DESCENT = 0.88, 0.12
_CELLS = re.compile(r"[!-~]+|.", re.DOTALL)


@dataclass(frozen=True)
class Cell:
    """One step down a column: a character, or a half-width run."""

    text: str
    kind: str  # upright, rotated, small, corner, tcy (縦中横), sideways
    advance: float  # along the column, in em

    def __str__(self) -> str:
        return self.text


def cells(text: str, fonts: FontSet) -> list[Cell]:
    """text as vertical cells; advances of sideways runs come from the font."""
    result = []
    for piece in _CELLS.findall(text):
        if piece == "\n":
            result.append(Cell("\n", "upright", 0.0))
        elif piece.isspace():
            result.append(Cell(piece, "upright", 1.0))
        elif len(piece) > 1 or (piece.isascii() and piece not in ROTATED):
            if len(piece) <= 2:
                result.append(Cell(piece, "tcy", 1.0))
            else:
                result.append(Cell(piece, "sideways", fonts.width(piece, 1.0)))
        elif piece in ROTATED:
            result.append(Cell(piece, "rotated", 1.0))
        elif piece in SMALL_KANA:
            result.append(Cell(piece, "small", 1.0))
        elif piece in CORNER_PUNCTUATION:
            result.append(Cell(piece, "corner", 1.0))
        else:
            result.append(Cell(piece, "upright", 1.0))
    return result


def column_length(column: list[Cell], size: float, spacing: float = 0.0) -> float:
    return sum(cell.advance for cell in column) * size + spacing * size * max(
        len(column) - 1, 0
    )


def break_columns(text: str, fonts: FontSet, size: float, height: float):
    """text as columns of cells no longer than height, with the kinsoku rules."""
    return break_lines(cells(text, fonts), lambda cell: cell.advance * size, height)


def fit_columns(
    text: str,
    fonts: FontSet,
    height: float,
    width: float,
    size: float,
    min_size: float,
    pitch: float = 1.8,
) -> tuple[float, list[list[Cell]]]:
    """The largest size (0.5 pt steps) at which text fills columns inside the box.

    Columns are pitch × size apart; raises TextProblem as fit_paragraph does.
    """
    missing = fonts.missing(text)
    if missing:
        raise TextProblem(text, missing)
    while size >= min_size:
        columns = break_columns(text, fonts, size, height)
        longest = max((column_length(c, size) for c in columns), default=0)
        if len(columns) * size * pitch <= width and longest <= height:
            return size, columns
        size -= 0.5
    raise TextProblem(text, [], too_long=True)


def _draw_upright(canvas, text, x_center, top, fonts, size, dx=0.0, dy=0.0):
    width = fonts.width(text, size)
    label = canvas.beginText(
        x_center - width / 2 + dx * size, top - ASCENT * size + dy * size
    )
    for font, piece in fonts.runs(text):
        label.setFont(font, size)
        label.textOut(piece)
    canvas.drawText(label)


def _draw_turned(canvas, text, x_center, top, fonts, size, length):
    """text turned 90° clockwise, its length running down the column from top."""
    canvas.saveState()
    canvas.translate(x_center, top)
    canvas.rotate(-90)
    # Turned, the glyphs' em box (-DESCENT..ASCENT around the baseline) spans the
    # column's width: put its middle on the column's centre line.
    offset = (length - fonts.width(text, size)) / 2
    label = canvas.beginText(offset, -(ASCENT - DESCENT) / 2 * size)
    for font, piece in fonts.runs(text):
        label.setFont(font, size)
        label.textOut(piece)
    canvas.drawText(label)
    canvas.restoreState()


def draw_column(
    canvas: Canvas,
    column: list[Cell],
    x_center: float,
    top: float,
    fonts: FontSet,
    size: float,
    spacing: float = 0.0,
) -> float:
    """Draw one column from top down, centred on x_center; returns where it ended.

    spacing adds that many em between cells (titles are set spread out).
    """
    y = top
    for cell in column:
        step = cell.advance * size
        if cell.kind == "rotated" or cell.kind == "sideways":
            _draw_turned(canvas, cell.text, x_center, y, fonts, size, step)
        elif cell.kind == "small":
            _draw_upright(canvas, cell.text, x_center, y, fonts, size, 0.1, 0.1)
        elif cell.kind == "corner":
            _draw_upright(canvas, cell.text, x_center, y, fonts, size, 0.55, 0.55)
        elif cell.kind == "tcy":
            scale = min(1.0, 0.9 / max(fonts.width(cell.text, 1.0), 0.01))
            _draw_upright(
                canvas, cell.text, x_center, y - (1 - scale) / 2 * size, fonts,
                size * scale,
            )  # fmt: skip
        elif not cell.text.isspace():
            _draw_upright(canvas, cell.text, x_center, y, fonts, size)
        y -= step + spacing * size
    return y + spacing * size if column else y


def draw_vertical(
    canvas: Canvas,
    text: str,
    x_center: float,
    top: float,
    fonts: FontSet,
    size: float,
    spacing: float = 0.0,
) -> float:
    """One line of text as a single column; returns the y where it ended."""
    return draw_column(canvas, cells(text, fonts), x_center, top, fonts, size, spacing)
