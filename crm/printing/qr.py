"""QR codes drawn as vector paths: sharp at any size, small in the file.

Encoding is done by the C library Zint (PyPI zint-bindings, about 0.25 ms a code)
and falls back to segno (pure Python, about 4 ms, most of it choosing the mask);
both pick the mask the standard's way, by scoring all eight. A code's modules are
kept bit-packed (QrModules), the form the database stores them in (qr_codes), and
drawn as one filled path of rectangles, never as an image that viewers blur.

Codes read from the database reach draw_qr through known_qr_codes(), so that page
layouts only ever pass the URL.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from operator import getitem
from typing import NamedTuple

import segno
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfgen.canvas import Canvas

try:
    import zint
except ImportError:  # segno does the same, only slower
    zint = None

QUIET_ZONE = 4  # modules of white around the code, as the standard asks
ERROR_LEVELS = {"l": 1, "m": 2, "q": 3, "h": 4}  # Zint's option_1
ZINT_ROW_BYTES = 144  # Zint's encoded_data rows are 1,152 bits wide
# Zint packs a row's modules least significant bit first; QrModules most first.
_REVERSED_BITS = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))
_DARK = re.compile("1+")


class QrModules(NamedTuple):
    """A code's side × side modules, without the quiet zone.

    Row by row from the top, each row bit-packed most significant bit first (1 is
    dark) and padded with zeros to whole bytes: 165 bytes for a 33 × 33 code.
    """

    side: int
    packed: bytes


def pack_matrix(matrix: Sequence[Sequence[bool]]) -> QrModules:
    """QrModules from rows of dark (true) and light modules."""
    side = len(matrix)
    row_bytes = (side + 7) // 8
    pad = row_bytes * 8 - side
    packed = bytearray()
    for row in matrix:
        bits = "".join("1" if module else "0" for module in row)
        packed += (int(bits, 2) << pad).to_bytes(row_bytes, "big")
    return QrModules(side, bytes(packed))


def _row_bits(modules: QrModules) -> Iterator[str]:
    """Each row as a string of "1" (dark) and "0", side characters long."""
    side, packed = modules
    row_bytes = (side + 7) // 8
    width = row_bytes * 8
    for start in range(0, side * row_bytes, row_bytes):
        value = int.from_bytes(packed[start : start + row_bytes], "big")
        yield format(value, f"0{width}b")[:side]


def unpack_matrix(modules: QrModules) -> tuple[tuple[bool, ...], ...]:
    """Rows of dark (true) and light modules."""
    return tuple(tuple(bit == "1" for bit in row) for row in _row_bits(modules))


def _encode_zint(data: str, error: str) -> QrModules:
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.QRCODE
    symbol.option_1 = ERROR_LEVELS[error]
    symbol.input_mode = zint.InputMode.DATA  # the bytes as they are: no ECI
    symbol.encode(data.encode())
    side = symbol.rows
    if side != symbol.width:
        raise ValueError(f"Zint made a {symbol.width} × {side} QR code")
    raw = symbol.encoded_data.tobytes()
    row_bytes = (side + 7) // 8
    packed = b"".join(
        raw[start : start + row_bytes]
        for start in range(0, side * ZINT_ROW_BYTES, ZINT_ROW_BYTES)
    )
    return QrModules(side, packed.translate(_REVERSED_BITS))


def _encode_segno(data: str, error: str) -> QrModules:
    code = segno.make_qr(data, error=error, boost_error=False)
    return pack_matrix(code.matrix)


def encode_qr(data: str, error: str = "m") -> QrModules:
    """The modules of a QR code for data, at the error level given (not raised).

    Zint when it is installed and data is ASCII (as public URLs are); segno else.
    """
    if zint is not None and data.isascii():
        return _encode_zint(data, error)
    return _encode_segno(data, error)


@lru_cache(maxsize=1024)
def qr_modules(data: str) -> QrModules:
    """encode_qr(data), kept for the last thousand or so codes of this process."""
    return encode_qr(data)


def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The dark/light modules of the code for data, without the quiet zone."""
    return unpack_matrix(qr_modules(data))


def dark_runs(matrix) -> list[tuple[int, int, int]]:
    """(row, first column, length) of every horizontal run of dark modules."""
    runs = []
    for y, row in enumerate(matrix):
        bits = "".join("1" if module else "0" for module in row)
        runs.extend((y, m.start(), m.end() - m.start()) for m in _DARK.finditer(bits))
    return runs


@lru_cache(maxsize=2)  # codes of one run share a size: URLs of one length
def _fragments(side: int) -> list[list[str]]:
    """For each byte of QrModules.packed, the operators of each of its 256 values.

    A byte is 8 modules of one row: its dark runs as `x y width 1 re`, so a code's
    path is a lookup per byte. Runs are cut where bytes meet; the rectangles are
    filled as one path, so the cut leaves no seam. About 3.6 MB for 33 × 33.
    """
    row_bytes = (side + 7) // 8
    runs = [[m.span() for m in _DARK.finditer(f"{b:08b}")] for b in range(256)]
    return [
        [
            "".join(f"{8 * i + start} {y} {end - start} 1 re\n" for start, end in run)
            for run in runs
        ]
        for y in range(side)
        for i in range(row_bytes)
    ]


def qr_operators(modules: QrModules) -> str:
    """The PDF path operators that fill the dark modules, in module units.

    Row 0 is at the top: the caller's transformation turns the y axis downwards.
    About 4 kB a code before compression, 0.5 kB after.
    """
    return "".join(map(getitem, _fragments(modules.side), modules.packed)) + "f"


_known: ContextVar[Mapping[str, QrModules] | None] = ContextVar(
    "known_qr_codes", default=None
)


@contextmanager
def known_qr_codes(codes: Mapping[str, QrModules]) -> Iterator[None]:
    """While inside, draw_qr takes the code of these texts from codes (by text).

    For codes read from the database: the layouts keep passing the URL only.
    """
    token = _known.set(codes)
    try:
        yield
    finally:
        _known.reset(token)


def draw_qr(
    canvas: Canvas,
    data: str,
    x: float,
    y: float,
    size: float,
    modules: QrModules | None = None,
) -> None:
    """Draw the code for data with its quiet zone in a size × size square at (x, y).

    (x, y) is the lower left corner, in points. The square includes the quiet zone,
    so the caller keeps nothing else inside it. modules, when given, must be the
    code of data (e.g. read from the database); otherwise it comes from
    known_qr_codes() or is encoded here.
    """
    if modules is None:
        known = _known.get()
        modules = known.get(data) if known is not None else None
        if modules is None:
            modules = qr_modules(data)
    unit = size / (modules.side + 2 * QUIET_ZONE)
    # One literal: a white square (the quiet zone), then the dark modules in module
    # units from the code's top left corner. Black is DeviceGray 0, so printers
    # use black toner only. q/Q leave reportlab's graphics state as it was.
    canvas.addLiteral(
        f"q 1 g {fp_str(x, y, size, size)} re f 0 g "
        f"{fp_str(unit, 0, 0, -unit, x + QUIET_ZONE * unit)} "
        f"{fp_str(y + size - QUIET_ZONE * unit)} cm\n"
        f"{qr_operators(modules)}\nQ"
    )
