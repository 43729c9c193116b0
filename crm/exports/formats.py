"""CSV and Excel files that open right in Japanese Excel, and stay inert there.

- CSV in UTF-8 with a BOM (Excel reads it as UTF-8), or in CP932 for old Excel.
  CP932 cannot hold every character (𠮷 among them): such a character becomes 〓
  (the geta mark typesetters use for a missing glyph) and is *reported* with its
  row and column, never silently turned into "?".
- Cells that begin with =, +, -, @, a tab or a carriage return would be read as a
  formula by spreadsheet programs: they get a leading apostrophe (formula
  injection, OWASP's advice), in CSV and in Excel alike.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

ENCODINGS = ("utf-8-sig", "cp932")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MISSING_IN_CP932 = "〓"


def neutralise(value):
    """A cell value that no spreadsheet will run as a formula; non-text unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Unencodable:
    """A character the chosen encoding cannot hold, and where it was."""

    row: int  # 1 is the header line
    column: str
    character: str


def to_cp932(text: str, row: int, column: str, problems: list[Unencodable]) -> str:
    """text with every character CP932 lacks replaced by 〓, each one recorded."""
    try:
        text.encode("cp932")
        return text
    except UnicodeEncodeError:
        pass
    kept = []
    for character in text:
        try:
            character.encode("cp932")
            kept.append(character)
        except UnicodeEncodeError:
            problems.append(Unencodable(row, column, character))
            kept.append(MISSING_IN_CP932)
    return "".join(kept)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(neutralise(value))


def csv_chunks(
    header: Sequence[str],
    rows: Iterable[Sequence],
    encoding: str = "utf-8-sig",
    problems: list[Unencodable] | None = None,
    rows_per_chunk: int = 500,
) -> Iterator[bytes]:
    """The CSV as encoded chunks, for streaming: memory stays flat however long.

    With cp932, characters it lacks are replaced and appended to problems.
    """
    if encoding not in ENCODINGS:
        raise ValueError(encoding)
    problems = [] if problems is None else problems
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # Excel's line ends

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        codec = "cp932" if encoding == "cp932" else "utf-8"
        return text.encode(codec)

    first = b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b""
    writer.writerow([_cell(value, 1, name, encoding, problems)
                     for value, name in zip(header, header, strict=True)])  # fmt: skip
    yield first + flush()
    for number, row in enumerate(rows, start=2):
        writer.writerow(
            [_cell(value, number, name, encoding, problems)
             for value, name in zip(row, header, strict=True)]
        )  # fmt: skip
        if number % rows_per_chunk == 0:
            yield flush()
    yield flush()


def _cell(value, row: int, column: str, encoding: str, problems) -> str:
    text = _cell_text(value)
    if encoding == "cp932":
        return to_cp932(text, row, column, problems)
    return text


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence], encoding: str = "utf-8-sig"
) -> tuple[bytes, list[Unencodable]]:
    """The whole CSV at once, with the characters CP932 could not hold."""
    problems: list[Unencodable] = []
    data = b"".join(csv_chunks(header, rows, encoding, problems))
    return data, problems


def problems_summary(problems: list[Unencodable], limit: int = 20) -> str:
    """'2行目「氏名」の𠮷, …' for a message to staff, at most limit entries."""
    parts = [f"{p.row}行目「{p.column}」の{p.character}" for p in problems[:limit]]
    more = len(problems) - limit
    return "、".join(parts) + (f" ほか{more}件" if more > 0 else "")


@dataclass(frozen=True)
class UnencodableIn:
    """A character CP932 lacks, in a record named the way staff know it (YL-00012)."""

    record: str
    column: str
    character: str


def find_unencodable(
    header: Sequence[str],
    rows: Iterable[Sequence],
    record_of: Callable[[Sequence], str],
    keep: int = 20,
) -> tuple[list[UnencodableIn], int]:
    """The first keep characters of the text cells that CP932 cannot hold, and how
    many there are in all (memory stays flat however many rows have one).

    One encode per row; only a row that fails is looked at cell by cell.
    """
    problems: list[UnencodableIn] = []
    total = 0
    for row in rows:
        texts = [value for value in row if isinstance(value, str)]
        try:
            "\x1f".join(texts).encode("cp932")
            continue
        except UnicodeEncodeError:
            pass
        for value, column in zip(row, header, strict=True):
            if isinstance(value, str):
                found: list[Unencodable] = []
                to_cp932(value, 0, column, found)
                total += len(found)
                problems += [
                    UnencodableIn(record_of(row), column, p.character)
                    for p in found[: max(keep - len(problems), 0)]
                ]
    return problems, total


def named_problems_summary(problems: list[UnencodableIn], total: int) -> str:
    """'YL-00012「氏名」の𠮷, … ほか n件' for a message to staff."""
    parts = [f"{p.record}「{p.column}」の{p.character}" for p in problems]
    more = total - len(problems)
    return "、".join(parts) + (f" ほか{more}件" if more > 0 else "")
