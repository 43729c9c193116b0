"""Japanese text that always fits and always shows."""

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
