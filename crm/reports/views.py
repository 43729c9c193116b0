"""The report page and its downloads; figures only, no personal data (viewers too)."""

from dataclasses import dataclass
from datetime import date

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _

from crm.admin.services import get_settings
from crm.audit.services import record_event
from crm.auth.permissions import requires_role
from crm.eras import DateParseError, format_fiscal_year, parse_date
from crm.exports.formats import problems_summary
from crm.extensions import db
from crm.reports import bp
from crm.reports.files import FORMATS, report_file, report_title
from crm.reports.queries import compute_report, fiscal_year, fiscal_year_of
from crm.reports.tables import report_tables
from crm.templating import japanese_town_terms
from crm.timeutil import today_jst


@dataclass
class PeriodChoice:
    """The period and as-of date asked for, as typed, with what was wrong."""

    start: date
    end: date
    as_of: date
    fiscal_year: int | None
    typed: dict
    errors: list[str]


def period_from_request(args) -> PeriodChoice:
    """A fiscal year (default: this one), or from/to dates; the as-of date defaults
    to today, or to the period's end when that has passed."""
    today = today_jst()
    errors: list[str] = []
    typed = {key: args.get(key, "").strip() for key in ("fy", "from", "to", "as_of")}

    def read(key: str) -> date | None:
        if not typed[key]:
            return None
        try:
            return parse_date(typed[key])
        except DateParseError:
            errors.append(_("“%(text)s” is not a date.", text=typed[key]))
            return None

    start, end = read("from"), read("to")
    year = None
    if not (start and end):
        year = int(typed["fy"]) if typed["fy"].isdigit() else fiscal_year_of(today)
        start, end = fiscal_year(year)
    elif start > end:
        errors.append(_("The period ends before it starts."))
        start, end = end, start
    as_of = read("as_of") or min(today, end)
    return PeriodChoice(start, end, as_of, year, typed, errors)


def _report_for(choice: PeriodChoice):
    settings = get_settings()
    report = compute_report(choice.start, choice.end, choice.as_of)
    terms = japanese_town_terms(settings)
    tables = report_tables(report, settings.supporter_word or "", terms)
    return settings, report, tables


@bp.route("/")
@requires_role("viewer")
def index():
    choice = period_from_request(request.args)
    settings, report, tables = _report_for(choice)
    this_year = fiscal_year_of(today_jst())
    years = [
        (year, f"{format_fiscal_year(year)}（{year}）")
        for year in range(this_year, this_year - 8, -1)
    ]
    return render_template(
        "reports/index.html",
        choice=choice,
        report=report,
        tables=tables,
        years=years,
        month_items=[
            (f"{int(m['month'][5:])}月", m["count"]) for m in report.likers["by_month"]
        ],
        event_items=[
            (
                e["title"],
                [
                    e["participations_likers"],
                    e["participations_citizens"],
                    e["participations_visitors"],
                ],
            )
            for e in report.by_event
        ],  # fmt: skip
        title=report_title(settings.programme_name),
        formats=FORMATS,
    )


@bp.route("/download")
@requires_role("viewer")
def download():
    choice = period_from_request(request.args)
    file_format = request.args.get("format", "xlsx")
    if file_format not in FORMATS:
        file_format = "xlsx"
    settings, report, tables = _report_for(choice)
    title = report_title(settings.programme_name)
    content, mimetype, problems = report_file(
        report, tables, title, settings.municipality_name, file_format
    )
    if problems and request.args.get("replace") != "y":
        # Never a silent "?": say which characters Shift_JIS lacks, then let staff
        # choose 〓 in their place or UTF-8.
        args = request.args.to_dict()
        return render_template(
            "reports/unencodable.html",
            problems=problems_summary(problems),
            count=len(problems),
            utf8_url=url_for("reports.download", **{**args, "format": "csv"}),
            replace_url=url_for("reports.download", **{**args, "replace": "y"}),
        )
    record_event(
        "export",
        "report",
        None,
        {
            "format": file_format,
            "from": choice.start.isoformat(),
            "to": choice.end.isoformat(),
            "as_of": choice.as_of.isoformat(),
        },
    )
    db.session.commit()
    extension = {"csv-cp932": "csv"}.get(file_format, file_format)
    name = f"report-{choice.start:%Y%m%d}-{choice.end:%Y%m%d}.{extension}"
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
