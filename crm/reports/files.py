"""The report's downloads: Excel, CSV (UTF-8 with BOM or CP932) and JSON."""

import json

from crm.eras import format_era
from crm.exports.formats import Unencodable, csv_bytes
from crm.reports.excel import report_workbook
from crm.reports.queries import Report
from crm.reports.tables import Table, period_text

FORMATS = ("xlsx", "csv", "csv-cp932", "json")


def report_title(programme: str) -> str:
    return f"{programme} 関係人口 実績報告"


def report_csv(
    report: Report, tables: list[Table], title: str, encoding: str
) -> tuple[bytes, list[Unencodable]]:
    """One CSV with every table as a block: its title, header and rows, a blank line."""
    width = max(len(t.headers) for t in tables)

    def padded(values) -> list:
        return [*values, *([""] * (width - len(values)))]

    rows = [
        padded([f"期間：{period_text(report)}", f"基準日：{format_era(report.as_of)}"]),
        padded([]),
    ]
    for table in tables:
        rows.append(padded([f"【{table.sheet}】{table.title}"]))
        rows.append(padded(table.headers))
        rows.extend(padded(values) for values in table.rows)
        rows.append(padded([]))
    return csv_bytes(padded([title]), rows, encoding)


def report_json(report: Report) -> bytes:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2).encode()


def report_file(
    report: Report, tables: list[Table], title: str, town: str, file_format: str
) -> tuple[bytes, str, list[Unencodable]]:
    """(content, mimetype, characters CP932 could not hold) for a download."""
    if file_format == "xlsx":
        content = report_workbook(report, tables, title, town)
        return (
            content,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            [],
        )
    if file_format in ("csv", "csv-cp932"):
        encoding = "cp932" if file_format == "csv-cp932" else "utf-8-sig"
        content, problems = report_csv(report, tables, title, encoding)
        charset = "shift_jis" if encoding == "cp932" else "utf-8"
        return content, f"text/csv; charset={charset}", problems
    if file_format == "json":
        return report_json(report), "application/json", []
    raise ValueError(file_format)
