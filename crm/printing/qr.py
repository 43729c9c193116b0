"""QR codes drawn as vector paths: sharp at any size, small in the file.

segno encodes (about 3 ms a code, most of it choosing the mask); the code is drawn as
one filled path of merged horizontal runs of dark modules, written once per code as
PDF operators, never as an image that viewers blur.
"""

from functools import lru_cache

import segno
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE = 4  # modules of white around the code, as the standard asks


@lru_cache(maxsize=1024)
def qr_matrix(data: str, error: str = "m") -> tuple[tuple[bool, ...], ...]:
    """The dark/light modules of the code for data, without the quiet zone.

    Cached: a Liker's code only changes when their token is reissued.
    """
    code = segno.make_qr(data, error=error, boost_error=False)
    return tuple(tuple(bool(m) for m in row) for row in code.matrix)


def dark_runs(matrix) -> list[tuple[int, int, int]]:
    """(row, first column, length) of every horizontal run of dark modules."""
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return runs


@lru_cache(maxsize=10_000)
def qr_operators(data: str) -> tuple[int, str]:
    """(modules per side, the PDF path operators that fill the dark modules).

    In module units with row 0 at the top; about 3 kB a code, so a reprint of ten
    thousand cards reuses them instead of encoding again.
    """
    matrix = qr_matrix(data)
    rects = [
        f"{column} {row} {length} 1 re" for row, column, length in dark_runs(matrix)
    ]
    return len(matrix), "\n".join([*rects, "f"])


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw the code for data with its quiet zone in a size × size square at (x, y).

    (x, y) is the lower left corner, in points. The square includes the quiet zone,
    so the caller keeps nothing else inside it.
    """
    side, operators = qr_operators(data)
    unit = size / (side + 2 * QUIET_ZONE)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    # Module units from the top left corner of the code: row 0 is at the top.
    canvas.translate(x + QUIET_ZONE * unit, y + size - QUIET_ZONE * unit)
    canvas.scale(unit, -unit)
    canvas.addLiteral(operators)
    canvas.restoreState()
