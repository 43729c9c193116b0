"""Japanese text that always fits and always shows."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas

from crm.printing.fonts import FontSet


@dataclass
class TextProblem(Exception):
    """Text that cannot be printed right: characters no font has, or too long."""

    text: str
    missing: list[str]
    too_long: bool = False

    def __str__(self) -> str:
        if self.missing:
            return f"no font has {''.join(self.missing)!r} (in {self.text!r})"
        return f"{self.text!r} does not fit even at the smallest size"


def fitting_size(
    text: str, fonts: FontSet, max_width: float, size: float, min_size: float
) -> float:
    """The largest size from size down to min_size at which text fits max_width.

    Refuses loudly instead of clipping or printing empty boxes.
    """
    missing = fonts.missing(text)
    if missing:
        raise TextProblem(text, missing)
    width = fonts.width(text, size)
    if width <= max_width:
        return size
    fitted = size * max_width / width  # widths scale linearly with the size
    if fitted < min_size:
        raise TextProblem(text, [], too_long=True)
    return fitted


def draw_text(
    canvas: Canvas,
    text: str,
    x: float,
    y: float,
    fonts: FontSet,
    size: float,
    align: str = "left",
) -> None:
    """Draw text on the baseline y, each run in the font that has its glyphs."""
    width = fonts.width(text, size)
    if align == "center":
        x -= width / 2
    elif align == "right":
        x -= width
    label = canvas.beginText(x, y)
    for font, piece in fonts.runs(text):
        label.setFont(font, size)
        label.textOut(piece)
    canvas.drawText(label)


# 禁則: characters a line must not start with, and ones it must not end with.
NO_LINE_START = set(
    "、。，．,.・：；:;？！?!ー－‐～〜…‥」』）】〕〉》］｝)]}"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ々ゝゞヽヾ"
)
NO_LINE_END = set("「『（【〔〈《［｛([{")
_WORD_CHARS = re.compile(r"[A-Za-z0-9!-/:-@\[-`{-~]+|\s+|.", re.DOTALL)


def break_units(text: str) -> list[str]:
    """text cut where lines may break: between Japanese characters, around words.

    A run of half-width letters, digits and signs (a programme name such as
    "Likers!", a number) stays whole.
    """
    return _WORD_CHARS.findall(text)


def break_lines(
    units: list, advance: Callable[[object], float], limit: float
) -> list[list]:
    """Units set into lines of at most limit, with the kinsoku rules above.

    A unit that must not start a line pulls the previous unit along (追い出し); a
    line never ends with an opening bracket. A single unit longer than the limit
    gets a line of its own (the caller checks widths). Spaces at a break vanish.
    """
    lines: list[list] = []
    line: list = []
    used = 0.0
    for unit in units:
        text = str(unit)
        if text == "\n":
            lines.append(line)
            line, used = [], 0.0
            continue
        width = advance(unit)
        if line and used + width > limit and not text.isspace():
            carried: list = []
            if text in NO_LINE_START and len(line) > 1:
                carried.insert(0, line.pop())
            while len(line) > 1 and str(line[-1]) in NO_LINE_END:
                carried.insert(0, line.pop())
            while line and str(line[-1]).isspace():
                line.pop()
            lines.append(line)
            line = carried
            used = sum(advance(u) for u in line)
        if not line and text.isspace():
            continue
        line.append(unit)
        used += width
    if line:
        lines.append(line)
    return lines


def wrap_text(text: str, fonts: FontSet, size: float, width: float) -> list[str]:
    """Horizontal lines of text that fit width at size (explicit newlines kept)."""
    lines = break_lines(break_units(text), lambda unit: fonts.width(unit, size), width)
    return ["".join(line) for line in lines]


def fit_paragraph(
    text: str,
    fonts: FontSet,
    width: float,
    height: float,
    size: float,
    min_size: float,
    leading: float = 1.8,
) -> tuple[float, list[str]]:
    """The largest size (in 0.5 pt steps) at which text wraps into the box.

    Raises TextProblem when characters are missing or it does not fit at min_size.
    """
    missing = fonts.missing(text)
    if missing:
        raise TextProblem(text, missing)
    while size >= min_size:
        lines = wrap_text(text, fonts, size, width)
        widest = max((fonts.width(line, size) for line in lines), default=0)
        if len(lines) * size * leading <= height and widest <= width:
            return size, lines
        size -= 0.5
    raise TextProblem(text, [], too_long=True)
