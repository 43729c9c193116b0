"""Reading the lists towns have: CSV in UTF-8 (with or without BOM) or CP932, and .xlsx.

Japanese CSV is most often CP932 (Excel's "CSV"), sometimes UTF-8 with a BOM (Excel's
"CSV UTF-8"), sometimes plain UTF-8 from web tools. Detection: a BOM means UTF-8;
text that decodes as UTF-8 is UTF-8 (CP932 text almost never does); anything else is
read as CP932, which holds 髙, 﨑 and ① (Shift_JIS proper does not). Staff can override.
"""

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

ENCODINGS = ("auto", "utf-8", "cp932")
MAX_BYTES = 50 * 1024 * 1024


class UnreadableFile(ValueError):
    """The file is not a CSV or .xlsx this can read; code picks the message."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


@dataclass
class Table:
    """A file's header, and its rows read again on each call of rows(): a file of
    100,000 lines is checked and then written without holding all of it as lists."""

    headers: list[str]
    encoding: str  # utf-8, cp932 or xlsx
    _source: Callable[[], Iterator[list]]

    def rows(self) -> Iterator[tuple[int, list]]:
        """(line number in the file, cells) of each non-blank row after the header."""
        width = len(self.headers)
        header_seen = False
        for number, row in enumerate(self._source(), start=1):
            cells = [c.strip() if isinstance(c, str) else c for c in row]
            if not any(c not in ("", None) for c in cells):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield number, (cells + [""] * (width - len(cells)))[:width]


_PIECE = 1 << 20  # bytes decoded at a time: the file is never held as one string


def _decodes(data: bytes, codec: str) -> bool:
    """Whether the whole file decodes, read a piece at a time."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        for start in range(0, len(data), _PIECE):
            decoder.decode(data[start : start + _PIECE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    return "utf-8" if _decodes(data, "utf-8") else "cp932"


def _codec(data: bytes, encoding: str) -> str:
    """The codec that reads the file; raises UnreadableFile when it does not."""
    if encoding == "auto":
        encoding = detect_encoding(data)
    codec = "utf-8-sig" if encoding == "utf-8" else "cp932"
    if not _decodes(data, codec):
        raise UnreadableFile("encoding", encoding)
    return codec


def _text(data: bytes, codec: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding=codec, newline="")


def _rows_of_csv(data: bytes, codec: str) -> Iterator[list[str]]:
    sample = _text(data, codec).read(4096)
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    yield from csv.reader(_text(data, codec), delimiter=delimiter)


def _cell(value):
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 68 for a postal code typed as a number …
    if value is None:
        return ""
    if isinstance(value, date):
        return value
    return str(value)


# An .xlsx is a zip of XML: refuse zip bombs before opening it. openpyxl parses the
# XML with defusedxml (installed with the app), which refuses DTDs and entities
# (billion laughs, external entities) with an error: such a file is unreadable.
MAX_XLSX_UNCOMPRESSED = 10 * MAX_BYTES
MAX_XLSX_MEMBERS = 10_000


def _check_zip(data: bytes) -> None:
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnreadableFile("xlsx", str(error)) from error
    if (
        len(members) > MAX_XLSX_MEMBERS
        or sum(member.file_size for member in members) > MAX_XLSX_UNCOMPRESSED
    ):
        raise UnreadableFile("too_big", "uncompressed")


def _rows_of_xlsx(data: bytes) -> Iterator[list]:
    from openpyxl import load_workbook

    _check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        for row in rows:  # the sheet's XML is parsed here, row by row
            yield [_cell(value) for value in row]
    except UnreadableFile:
        raise
    except Exception as error:  # noqa: BLE001 (zip, XML: any of them means unreadable)
        raise UnreadableFile("xlsx", str(error)) from error
    workbook.close()


def read_table(data: bytes, file_name: str, encoding: str = "auto") -> Table:
    """The CSV, or the first sheet of an .xlsx; raises UnreadableFile."""
    if len(data) > MAX_BYTES:
        raise UnreadableFile("too_big")
    if not data.strip():
        raise UnreadableFile("empty")
    if file_name.lower().endswith(".xlsx") or data.startswith(b"PK\x03\x04"):
        used = "xlsx"

        def source():
            return _rows_of_xlsx(data)

    else:
        used = detect_encoding(data) if encoding == "auto" else encoding
        codec = _codec(data, used)

        def source():
            return _rows_of_csv(data, codec)

    first = next(
        (row for row in source() if any(str(c or "").strip() for c in row)), None
    )
    if first is None:
        raise UnreadableFile("empty")
    headers = [str(h or "").strip() for h in first]
    table = Table(headers, used, source)
    return table
