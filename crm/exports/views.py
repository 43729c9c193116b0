"""Downloads of personal data: the Likers list (its current filter) and event rosters.

Staff only. Each one is written to the audit log, with the ids it holds, and
committed before the first byte goes out (crm.exports.audit).
"""

from datetime import datetime
from operator import itemgetter
from urllib.parse import parse_qsl, urlencode

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import Connection
from werkzeug.datastructures import MultiDict
from werkzeug.wsgi import ClosingIterator

from crm.admin.services import get_settings
from crm.auth.permissions import requires_role
from crm.events.models import Event
from crm.events.queries import get_event_or_404
from crm.exports import bp
from crm.exports.audit import count_ids, id_ranges, record_export
from crm.exports.formats import (
    XLSX_MIMETYPE,
    csv_chunks,
    find_unencodable,
    named_problems_summary,
)
from crm.exports.forms import ExportForm, LikersExportForm
from crm.exports.likers import (
    DEFAULT_COLUMNS,
    count_matching,
    export_statement,
    headers,
    labels_for,
    matching_id_ranges,
    row_maker,
    stream_rows,
    text_keys,
    widths,
)
from crm.exports.rosters import (
    ROSTER_COLUMNS,
    ROSTER_HEADER,
    ROSTER_WIDTHS,
    event_roster,
)
from crm.exports.snapshot import open_snapshot
from crm.exports.xlsx import xlsx_chunks
from crm.extensions import db
from crm.societies.models import Society
from crm.supporters.queries import list_categories
from crm.supporters.views import FILTER_KEYS, filters_from_request
from crm.timeutil import JST

MAX_QUERY_LENGTH = 4000


def _filter_args(pairs) -> MultiDict:
    """Only the list's filter keys (never page, never anything else)."""
    return MultiDict((key, value) for key, value in pairs if key in FILTER_KEYS)


def _query_from_form(text: str) -> MultiDict:
    if len(text) > MAX_QUERY_LENGTH:
        abort(400)  # never cut a filter in half: it would export other people
    return _filter_args(parse_qsl(text))


def _likers_page(form: LikersExportForm, query: MultiDict):
    filters = filters_from_request(query)
    return render_template(
        "exports/likers.html",
        form=form,
        filters=filters,
        count=count_matching(filters),
        list_url=url_for("supporters.index")
        + "?"
        + urlencode(list(query.items(multi=True))),
        categories={c.id: c.name for c in list_categories()},
        event=db.session.get(Event, filters.event_id) if filters.event_id else None,
        society=(
            db.session.get(Society, filters.society_id) if filters.society_id else None
        ),
    )


@bp.route("/likers")
@requires_role("staff")
def likers():
    query = _filter_args(request.args.items(multi=True))
    form = LikersExportForm(
        formdata=None, query=urlencode(list(query.items(multi=True))),
        columns=DEFAULT_COLUMNS,
    )  # fmt: skip
    return _likers_page(form, query)


@bp.route("/likers", methods=["POST"])
@requires_role("staff")
def likers_download():
    form = LikersExportForm()
    query = _query_from_form(form.query.data or "")
    if not form.validate_on_submit():
        return _likers_page(form, query)
    keys = list(dict.fromkeys(form.columns.data))  # as sent: the file's order
    file_format = form.format.data
    filters = filters_from_request(query)
    settings = get_settings()
    labels, sheet_title = labels_for(settings), settings.supporter_word or "Likers"
    # Ends the request's own transaction: on SQLite a POST holds the write lock
    # from its first query, and the reads below may take seconds. Nothing may touch
    # the session after the audit row's commit either (xlsx is written after it).
    db.session.commit()
    snapshot = open_snapshot()
    try:
        ranges = matching_id_ranges(snapshot, filters)
        if file_format == "csv-cp932" and form.replace.data != "y":
            checked = ["number", *(k for k in text_keys(keys) if k != "number")]
            rows = stream_rows(
                snapshot,
                export_statement(filters, checked, by_id=True),
                row_maker(checked, labels),
            )
            problems, total = find_unencodable(headers(checked), rows, itemgetter(0))
            if problems:
                snapshot.close()
                action = url_for("exports.likers_download")
                return _unencodable_page(problems, total, action)
        record_export(
            "supporters", None, used_filter=query.to_dict(flat=False),
            file_format=file_format, columns=keys, supporter_ids=ranges,
            rows=count_ids(ranges),
            **_replacement(form),
        )  # fmt: skip
        db.session.commit()
        rows = stream_rows(
            snapshot, export_statement(filters, keys), row_maker(keys, labels)
        )
        return _send(
            headers(keys), rows, file_format, "likers", widths(keys),
            sheet_title, snapshot,
        )  # fmt: skip
    except BaseException:
        snapshot.close()
        raise


@bp.route("/events/<int:event_id>/roster", methods=["POST"])
@requires_role("staff")
def roster(event_id: int):
    event = get_event_or_404(event_id)
    form = ExportForm()
    if not form.validate_on_submit():
        flash(_("Choose a file format."), "danger")
        return redirect(url_for("events.show", event_id=event.id))
    file_format = form.format.data
    result = event_roster(event, get_settings())
    if file_format == "csv-cp932" and form.replace.data != "y":
        problems, total = find_unencodable(ROSTER_HEADER, result.rows, _roster_record)
        if problems:
            action = url_for("exports.roster", event_id=event.id)
            return _unencodable_page(problems, total, action)
    record_export(
        "event", event.id, used_filter={"event": event.id}, file_format=file_format,
        columns=ROSTER_COLUMNS, supporter_ids=id_ranges(sorted(result.supporter_ids)),
        rows=len(result.rows), guest_ids=id_ranges(sorted(result.guest_ids)),
        **_replacement(form),
    )  # fmt: skip
    db.session.commit()
    return _send(
        ROSTER_HEADER, result.rows, file_format, f"roster-{event_id}", ROSTER_WIDTHS,
        "参加者名簿",
    )  # fmt: skip


def _roster_record(row) -> str:
    """A roster row as staff find it: the number, or the day and kind of a guest."""
    return row[2] or f"{row[0]:%Y-%m-%d} {row[1]}"


def _replacement(form) -> dict:
    if form.format.data == "csv-cp932" and form.replace.data == "y":
        return {"replacement": "〓"}
    return {}


def _unencodable_page(problems, total: int, action: str):
    """Never a silent "?": say which characters Shift_JIS lacks, then let staff
    choose UTF-8 or 〓 in their place. The choice is posted again, with the form."""
    hidden = [
        (key, value)
        for key, value in request.form.items(multi=True)
        if key not in ("csrf_token", "format", "replace")
    ]
    return render_template(
        "exports/unencodable.html",
        problems=named_problems_summary(problems, total),
        count=total,
        action=action,
        hidden=hidden,
    )


def _send(
    header: list[str],
    rows,
    file_format: str,
    name: str,
    column_widths: list[float],
    sheet_title: str,
    snapshot: Connection | None = None,
) -> Response:
    """The file as a download, streamed as it is written (CSV or xlsx)."""
    name = f"{name}-{datetime.now(JST):%Y%m%d-%H%M}"
    if file_format == "xlsx":
        return _streamed(
            xlsx_chunks(header, rows, sheet_title, column_widths), snapshot,
            content_type=XLSX_MIMETYPE, filename=f"{name}.xlsx",
        )  # fmt: skip
    encoding = "cp932" if file_format == "csv-cp932" else "utf-8-sig"
    charset = "shift_jis" if encoding == "cp932" else "utf-8"

    return _streamed(
        csv_chunks(header, rows, encoding), snapshot,
        content_type=f"text/csv; charset={charset}", filename=f"{name}.csv",
    )  # fmt: skip


def _streamed(parts, snapshot: Connection | None, content_type: str, filename: str):
    """Send the parts as they are made; the snapshot closes when the rows are read
    or when the download is broken off."""

    def chunks():
        try:
            yield from parts
        finally:
            if snapshot is not None:
                snapshot.close()

    closing = [snapshot.close] if snapshot is not None else []
    return Response(
        ClosingIterator(chunks(), closing),
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
