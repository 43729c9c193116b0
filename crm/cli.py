"""Commands for IT staff: flask --app crm setup | users create | demo-data."""

import os
import secrets
import sys

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select

from crm.auth.models import ROLES, User
from crm.auth.services import UserError, create_user
from crm.extensions import db

users_cli = AppGroup("users", help="Manage staff accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
@click.option("--name", default="", help="Display name (default: the part before @).")
@click.option(
    "--password",
    envvar="CRM_NEW_USER_PASSWORD",
    help="Password (or CRM_NEW_USER_PASSWORD); asked for when not given.",
)
def create_user_command(email: str, role: str, name: str, password: str | None):
    """Create a staff account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, name, role, password)
    except UserError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role} account {user.email}.")


@click.command("setup")
@with_appcontext
@click.option(
    "--demo-likers",
    type=int,
    default=0,
    help="Load this many demo Likers if none exist.",
)
def setup_command(demo_likers: int):
    """Migrate the database to the newest schema, seed lists and create the first admin."""
    from crm.setup_data import seed_reference_data
    from crm.supporters.models import Supporter

    upgrade()
    seed_reference_data()
    if db.session.scalar(select(func.count(User.id))) == 0:
        email = os.environ.get("CRM_ADMIN_EMAIL", "admin@example.jp")
        password = os.environ.get("CRM_ADMIN_PASSWORD")
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        create_user(email, "システム管理者", "admin", password)
        click.echo(f"Created the administrator account {email}.")
        if generated:
            click.echo(f"Its password, shown only this once: {password}")
    db.session.commit()
    if demo_likers and db.session.scalar(select(func.count(Supporter.id))) == 0:
        _load_demo(demo_likers)
    click.echo("The database is ready.")


@click.command("demo-data")
@with_appcontext
@click.option("--likers", type=int, default=200, show_default=True)
@click.option(
    "--seed", type=int, default=2018, help="Random seed, for repeatable data."
)
def demo_data_command(likers: int, seed: int):
    """Add realistic demo Likers, events with attendance, partners and societies."""
    from crm.setup_data import seed_reference_data

    seed_reference_data()
    _load_demo(likers, seed)


def _load_demo(count: int, seed: int = 2018) -> None:
    from crm.demo import add_demo_supporters
    from crm.demo_activity import add_demo_activity

    with click.progressbar(length=count, label="Demo Likers") as bar:
        add_demo_supporters(count, seed=seed, progress=bar.update)
    click.echo(f"Added {count} demo Likers.")
    check_ins = add_demo_activity(seed=seed)
    click.echo(
        f"Added demo events, partners and hometown societies ({check_ins} check-ins)."
    )


print_cli = AppGroup("print", help="Print documents for Likers as PDF.")


def _print_options(function):
    for option in reversed(
        [
            click.option("--all", "everyone", is_flag=True, help="Every active Liker."),
            click.option("--number", "numbers", multiple=True, help="A registration number."),
            click.option("--not-yet-issued", is_flag=True, help="Active Likers without one."),
            click.option("--record-issue", is_flag=True, help="Write the prints to the ledger."),
            click.option("-o", "--output", type=click.Path(dir_okay=False), required=True),
            click.option(
                "--substitute-fonts", is_flag=True,
                help="Last resort without Japanese TrueType fonts: reportlab's CID fonts, "
                "not embedded (viewers draw them with fonts of their own; no 𠮷).",
            ),
        ]
    ):  # fmt: skip
        function = option(function)
    return function


@print_cli.command("cards")
@_print_options
@click.option(
    "--layout",
    type=click.Choice(["sheet", "single"]),
    default="sheet",
    show_default=True,
)
@click.option("--back", is_flag=True, help="Add the back side (duplex printing).")
@click.option("--crop-marks", is_flag=True, help="Cutting marks around the sheet.")
@click.option(
    "--first-cell",
    type=click.IntRange(1, 10),
    default=1,
    help="Where the first card goes on a partly used sheet (1 = top left, 2 = top right).",
)
def print_cards_command(
    everyone, numbers, not_yet_issued, record_issue, output, substitute_fonts, layout,
    back, crop_marks, first_cell,
):  # fmt: skip
    """Business cards: A4 sheets of 10 (A-One 10面) or one card per page."""
    options = {"back": back, "crop_marks": crop_marks, "first_cell": first_cell - 1,
               "allow_cid": substitute_fonts}  # fmt: skip
    _print_documents("card", everyone, numbers, not_yet_issued, record_issue, output,
                     layout, options)  # fmt: skip


@print_cli.command("certificates")
@_print_options
@click.option(
    "--layout",
    type=click.Choice(["vertical", "horizontal"]),
    help="Default: the layout chosen in the settings.",
)
def print_certificates_command(
    everyone, numbers, not_yet_issued, record_issue, output, substitute_fonts, layout
):
    """Certificates (感謝状), one A4 page each, vertical or horizontal writing."""
    _print_documents("certificate", everyone, numbers, not_yet_issued, record_issue,
                     output, layout, {"allow_cid": substitute_fonts})  # fmt: skip


def _print_documents(
    kind, everyone, numbers, not_yet_issued, record_issue, output, layout, options
):
    from flask import current_app

    from crm.admin.services import get_settings
    from crm.documents.services import (
        public_base_url_is_usable,
        record_issues,
        render_documents,
    )
    from crm.printing.fonts import FontsMissing, font_set
    from crm.printing.text import TextProblem
    from crm.supporters.models import Supporter
    from crm.supporters.queries import SupporterFilter, select_supporters

    words = {"card": "cards", "certificate": "certificates"}[kind]
    if not (everyone or numbers or not_yet_issued):
        raise click.UsageError("Say whom: --all, --number N or --not-yet-issued.")
    if numbers:
        supporters = list(
            db.session.scalars(
                select(Supporter)
                .where(Supporter.registration_number.in_(numbers))
                .order_by(Supporter.registration_number)
            )
        )
        unknown = set(numbers) - {s.registration_number for s in supporters}
        if unknown:
            raise click.ClickException(f"Unknown numbers: {', '.join(sorted(unknown))}")
    else:
        not_issued = "not_issued" if not_yet_issued else ""
        filters = SupporterFilter(sort="number", status="active", **{kind: not_issued})
        supporters = select_supporters(filters, limit=10_000_000)
    supporters = [s for s in supporters if s.status == "active"]
    settings = get_settings()
    if kind == "certificate":
        layout = layout or settings.certificate_layout
    base_url = current_app.config["PUBLIC_BASE_URL"]
    if not public_base_url_is_usable(base_url, current_app):
        raise click.ClickException(
            f"CRM_PUBLIC_BASE_URL is {base_url!r}: the QR codes would point to this "
            "machine. Set the public address first."
        )
    try:
        with click.progressbar(
            length=len(supporters), label=f"Printing {words}", file=sys.stderr
        ) as bar:
            pdf = render_documents(
                kind,
                supporters,
                layout,
                settings,
                base_url,
                tuple(current_app.config["FONT_DIRS"]),
                options,
                progress=lambda done: bar.update(done - bar.pos),
            )
    except FontsMissing as error:
        raise click.ClickException(
            f"{error} As a last resort, --substitute-fonts prints with fonts that are "
            "not embedded."
        ) from error
    except TextProblem as error:
        raise click.ClickException(str(error)) from error
    style = "gothic" if kind == "card" else "mincho"
    fonts_dirs = tuple(current_app.config["FONT_DIRS"])
    if (
        options.get("allow_cid")
        and not font_set(style, fonts_dirs, allow_cid=True).embedded
    ):
        click.echo(
            "warning: printed with substitute fonts, not embedded: they look different "
            "on every PC and printer. Install the IPAex fonts.",
            err=True,
        )
    with open(output, "wb") as handle:
        handle.write(pdf)
    if record_issue:
        record_issues([s.id for s in supporters], kind)
    db.session.commit()
    click.echo(f"Wrote {len(supporters)} {words} to {output}.")


report_cli = AppGroup("report", help="Reports for the ministry and the town.")


@report_cli.command("ministry")
@click.option(
    "--from", "start", help="First day of the period (2025-04-01 or 令和7年4月1日)."
)
@click.option("--to", "end", help="Last day of the period.")
@click.option(
    "--fiscal-year", type=int, help="April of this year to March of the next."
)
@click.option(
    "--as-of",
    help="Count registrations as of this day (default: today, or the period's end).",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["json", "xlsx", "csv"]),
    default="json",
    show_default=True,
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "cp932"]),
    default="utf-8",
    show_default=True,
    help="For CSV: UTF-8 with BOM, or CP932 for old Excel.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="File to write (default: standard output for JSON).",
)
def report_ministry_command(
    start, end, fiscal_year, as_of, file_format, encoding, output
):  # noqa: PLR0913
    """The relationship-population report: figures counted by the database."""
    from crm.admin.services import get_settings
    from crm.audit.services import record_event
    from crm.database import reading_only
    from crm.eras import DateParseError, parse_date
    from crm.reports.files import report_file, report_title
    from crm.reports.queries import compute_report, fiscal_year_of
    from crm.reports.queries import fiscal_year as fiscal_year_dates
    from crm.reports.tables import report_tables
    from crm.templating import japanese_town_terms
    from crm.timeutil import today_jst

    def day(text, name):
        try:
            return parse_date(text)
        except DateParseError as error:
            raise click.BadParameter(
                f"not a date: {text!r}", param_hint=name
            ) from error

    if (start or end) and fiscal_year:
        raise click.UsageError("Give either --from/--to or --fiscal-year, not both.")
    if bool(start) != bool(end):
        raise click.UsageError("--from and --to go together.")
    today = today_jst()
    if start:
        period = day(start, "--from"), day(end, "--to")
        if period[0] > period[1]:
            raise click.UsageError("The period ends before it starts.")
    else:
        period = fiscal_year_dates(fiscal_year or fiscal_year_of(today))
    as_of_day = day(as_of, "--as-of") if as_of else min(today, period[1])
    db.session.commit()  # the read below begins its own, lock-free transaction
    with reading_only():
        settings = get_settings()
        report = compute_report(period[0], period[1], as_of_day)
        db.session.commit()
    tables = report_tables(
        report, settings.supporter_word or "", japanese_town_terms(settings)
    )
    kind = {"csv": "csv-cp932" if encoding == "cp932" else "csv"}.get(
        file_format, file_format
    )
    content, _mimetype, problems = report_file(
        report,
        tables,
        report_title(settings.programme_name),
        settings.municipality_name,
        kind,
    )
    for problem in problems:
        click.echo(
            f"warning: row {problem.row}, {problem.column or 'column'}: "
            f"{problem.character} is not in CP932, written as 〓",
            err=True,
        )
    record_event("export", "report", None, {"format": kind, "from": period[0].isoformat(),
                 "to": period[1].isoformat(), "as_of": as_of_day.isoformat(), "via": "cli"})  # fmt: skip
    db.session.commit()
    if output:
        with open(output, "wb") as handle:
            handle.write(content)
        click.echo(f"Wrote the report ({file_format}) to {output}.", err=True)
    elif file_format == "json":
        click.echo(content.decode())
    else:
        raise click.UsageError("Give -o FILE for xlsx and csv.")


@click.command("import")
@with_appcontext
@click.argument("kind", type=click.Choice(["likers", "attendance", "memberships"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--event", "event_id", type=int, help="The event (for attendance).")
@click.option("--dry-run", is_flag=True, help="Check every row, write nothing.")
@click.option(
    "--encoding",
    type=click.Choice(["auto", "utf-8", "cp932"]),
    default="auto",
    show_default=True,
)
@click.option(
    "--duplicates",
    type=click.Choice(["skip", "create", "update"]),
    default="skip",
    show_default=True,
    help="Likers only: what to do with a row that likely duplicates a Liker.",
)
def import_command(kind, file, event_id, dry_run, encoding, duplicates):  # noqa: PLR0913
    """Import a CSV or .xlsx file: all of it, or nothing when any row has a problem."""
    from pathlib import Path

    from crm.events.models import Event
    from crm.imports.columns import guess_mapping
    from crm.imports.reading import UnreadableFile, read_table
    from crm.imports.records import (
        check_attendance,
        check_memberships,
        commit_attendance,
        commit_memberships,
    )
    from crm.imports.services import check_likers, commit_likers, mapping_problems

    path = Path(file)
    try:
        table = read_table(path.read_bytes(), path.name, encoding)
    except UnreadableFile as error:
        raise click.ClickException(
            f"cannot read {file}: {error.code} {error.detail}"
        ) from error
    mapping = guess_mapping(table.headers, kind)
    unknown = [h for i, h in enumerate(table.headers) if i not in mapping and h]
    if unknown:
        click.echo(f"not imported (unknown headers): {', '.join(unknown)}", err=True)
    event = None
    if kind == "attendance":
        event = db.session.get(Event, event_id or 0)
        if event is None:
            raise click.UsageError("Give the event with --event ID.")
    if kind == "likers":
        problems = mapping_problems(mapping)
        if problems:
            raise click.ClickException(" ".join(problems))
        check = check_likers(table, mapping)
    elif kind == "attendance":
        check = check_attendance(table, mapping, event)
    else:
        check = check_memberships(table, mapping)
    for line, row_problems in check.problems.items():
        click.echo(f"line {line}: {' / '.join(row_problems)}", err=True)
    if check.problems:
        raise click.ClickException(
            f"{len(check.problems)} of {check.rows} rows have problems: nothing was imported."
        )
    decisions = {}
    if kind == "likers":
        for row in check.flagged:
            best = row.matches[0] if row.matches else None
            action = duplicates
            if duplicates == "update":
                action = f"update:{best.supporter_id}" if best else "skip"
            decisions[str(row.line)] = action
            target = (
                f"{best.registration_number} ({best.score}%)"
                if best
                else f"line {row.repeats_line}"
            )
            click.echo(
                f"line {row.line}: likely the same as {target}: {action}", err=True
            )
    if dry_run:
        click.echo(
            f"{check.rows} rows checked, no problems (dry run: nothing written)."
        )
        return
    if kind == "likers":
        result = commit_likers(table, mapping, decisions)
        summary = f"{len(result.created)} created, {len(result.updated)} updated, {result.skipped} skipped"
    elif kind == "attendance":
        details = commit_attendance(check, event)
        summary = (
            f"{details['added']} check-ins added, {details['already']} there already"
        )
    else:
        details = commit_memberships(check)
        summary = (
            f"{details['added']} memberships added, {details['already']} there already"
        )
    db.session.commit()
    click.echo(f"Imported {check.rows} rows: {summary}.")


@click.command("housekeeping")
@with_appcontext
def housekeeping_command():
    """Delete what is kept only for a while (run daily, e.g. after the backup)."""
    from crm.operations.housekeeping import remove_expired

    removed = remove_expired()
    db.session.commit()
    click.echo(
        f"Removed: {removed.throttles} sign-in throttle rows, {removed.sessions} old"
        f" sessions, {removed.print_pdfs} print PDFs, {removed.uploads} import"
        f" uploads, {removed.rate_limit_windows} rate-limit windows."
    )


def register(app: Flask) -> None:
    from crm.audit.cli import audit_cli
    from crm.jobs.cli import jobs_cli
    from crm.operations import backup_cli, serving_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(setup_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(print_cli)
    app.cli.add_command(report_cli)
    app.cli.add_command(import_command)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(housekeeping_command)
    serving_cli.register(app)
    backup_cli.register(app)
