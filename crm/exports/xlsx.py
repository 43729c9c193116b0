"""A one-sheet .xlsx written as a stream, for list exports of any length.

openpyxl builds each cell as a Python object (about 12 µs a cell here): a
200,000-row list took over 30 s and nothing reached the browser until the end,
past gunicorn's worker timeout. List exports need only text, numbers and dates,
so this writes the sheet's XML directly, row by row, into a zip that is sent as
it grows (inline strings: no shared-string table to keep in memory). The
workbooks with layout (the ministry report) stay with openpyxl.
"""

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from xml.sax.saxutils import escape, quoteattr

from openpyxl.utils import get_column_letter

from crm.exports.formats import neutralise

ROWS_PER_CHUNK = 500
_EXCEL_EPOCH = datetime(1899, 12, 30)
# Characters XML 1.0 cannot hold at all; they never come from a keyboard.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Cell styles, by their index in styles.xml's cellXfs.
_BOLD, _DATE, _DATETIME, _TIME = 1, 2, 3, 4

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""

_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
</Relationships>"""

_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>\
</Relationships>"""

_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>\
<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/><numFmt numFmtId="166" formatCode="hh:mm"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""


def _workbook(sheet_title: str) -> str:
    # Sheet names may not hold []:*?/\ and are at most 31 characters.
    name = re.sub(r"[\[\]:*?/\\]", "_", sheet_title)[:31] or "Sheet1"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name={quoteattr(name)} sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )


def _sheet_start(widths: Sequence[float]) -> str:
    columns = "".join(
        f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
        for n, width in enumerate(widths, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        "</sheetView></sheetViews>"
        + (f"<cols>{columns}</cols>" if columns else "")
        + "<sheetData>"
    )


def _text(reference: str, value: str, style: str = "") -> str:
    value = escape(_NOT_IN_XML.sub("", neutralise(value)))
    return (
        f'<c r="{reference}"{style} t="inlineStr">'
        f'<is><t xml:space="preserve">{value}</t></is></c>'
    )


def _cell(reference: str, value) -> str:
    kind = type(value)
    if kind is str:
        return _text(reference, value)
    if value is None:
        return ""
    if kind is bool:
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if kind is int or kind is float:
        return f'<c r="{reference}"><v>{value!r}</v></c>'
    if kind is datetime:
        serial = (value.replace(tzinfo=None) - _EXCEL_EPOCH).total_seconds() / 86400
        return f'<c r="{reference}" s="{_DATETIME}"><v>{serial!r}</v></c>'
    if kind is date:
        serial = (value - _EXCEL_EPOCH.date()).days
        return f'<c r="{reference}" s="{_DATE}"><v>{serial}</v></c>'
    if kind is time:
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return f'<c r="{reference}" s="{_TIME}"><v>{seconds / 86400!r}</v></c>'
    return _text(reference, str(value))


class _Sink:
    """What zipfile writes into; the bytes are taken out as they come."""

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def xlsx_chunks(
    header: Sequence[str],
    rows: Iterable[Sequence],
    sheet_title: str = "Sheet1",
    widths: Sequence[float] | None = None,
) -> Iterator[bytes]:
    """The workbook's bytes, a few hundred rows at a time.

    Text is neutralised against formulas as in the CSV; dates and times are real
    Excel dates with a date format; the header row is bold and stays in view.
    """
    sink = _Sink()
    # zipfile sees a stream it cannot seek and writes each entry's sizes after it.
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _workbook(sheet_title))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        yield sink.take()
        letters = [get_column_letter(n) for n in range(1, len(header) + 1)]
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_sheet_start(widths or ()).encode())
            bold = f' s="{_BOLD}"'
            cells = "".join(
                _text(f"{letter}1", str(title), bold)
                for letter, title in zip(letters, header, strict=True)
            )
            lines = [f'<row r="1">{cells}</row>']
            for number, row in enumerate(rows, start=2):
                cells = "".join(
                    _cell(f"{letter}{number}", value)
                    for letter, value in zip(letters, row, strict=False)
                )
                lines.append(f'<row r="{number}">{cells}</row>')
                if len(lines) >= ROWS_PER_CHUNK:
                    sheet.write("".join(lines).encode())
                    lines = []
                    yield sink.take()
            lines.append("</sheetData></worksheet>")
            sheet.write("".join(lines).encode())
    yield sink.take()
