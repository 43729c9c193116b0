"""The report as an Excel workbook laid out for printing on A4.

One sheet for the summary and one per breakdown; each sheet has the title, the
period in era dates and the as-of date at the top, repeats its table header on
every printed page, fits the page width and numbers its pages.
"""

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from crm.eras import format_era
from crm.exports.formats import neutralise
from crm.reports.queries import Report
from crm.reports.tables import Table, period_text

THIN = Side(style="thin", color="8C8C8C")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DCE8F2")
TITLE_FONT = Font(size=14, bold=True)


def _write_table(sheet, row: int, table: Table) -> int:
    """The table from row on; returns the next free row."""
    sheet.cell(row=row, column=1, value=table.title).font = Font(bold=True, size=12)
    row += 1
    for column, header in enumerate(table.headers, start=1):
        cell = sheet.cell(row=row, column=column, value=header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for values in table.rows:
        row += 1
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=neutralise(value))
            cell.border = BORDER
            if isinstance(value, int):
                cell.number_format = "#,##0"
    if not table.rows:
        row += 1
        sheet.cell(row=row, column=1, value="（該当なし）")
    return row + 2


def report_workbook(
    report: Report, tables: list[Table], title: str, town: str
) -> bytes:
    """The .xlsx file's bytes."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets: dict[str, list[Table]] = {}
    for table in tables:
        sheets.setdefault(table.sheet, []).append(table)
    for name, sheet_tables in sheets.items():
        sheet = workbook.create_sheet(name)
        sheet["A1"] = title
        sheet["A1"].font = TITLE_FONT
        sheet["A2"] = (
            f"{town}　期間：{period_text(report)}　基準日：{format_era(report.as_of)}"
        )
        row = 4
        for table in sheet_tables:
            row = _write_table(sheet, row, table)
        widest = max(len(t.headers) for t in sheet_tables)
        sheet.column_dimensions["A"].width = 30 if widest > 3 else 40
        for column in range(2, widest + 1):
            sheet.column_dimensions[get_column_letter(column)].width = (
                11 if widest > 3 else 14
            )
        if widest > 3:  # the many columns of the theme and event tables
            sheet.row_dimensions[5].height = 64
        setup = sheet.page_setup
        setup.paperSize = sheet.PAPERSIZE_A4
        setup.orientation = "landscape" if widest > 3 else "portrait"
        setup.fitToWidth, setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_options.horizontalCentered = True
        sheet.page_margins.left = sheet.page_margins.right = 0.5
        sheet.oddFooter.center.text = "&P / &N"
        sheet.oddHeader.right.text = f"{town} {name}"
        if len(sheet_tables) == 1:
            sheet.print_title_rows = "5:5"  # the header again on every page
            sheet.freeze_panes = "B6"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
