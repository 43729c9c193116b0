"""The import wizard: upload, columns, preview with every problem, then commit."""

from datetime import timedelta

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
from flask_login import current_user
from sqlalchemy import delete, select

from crm.auth.permissions import requires_role
from crm.events.models import Event
from crm.exports.formats import csv_bytes
from crm.extensions import db
from crm.forms import allows_upload
from crm.imports import bp
from crm.imports.columns import FIELDS, guess_mapping
from crm.imports.models import IMPORT_KINDS, ImportUpload
from crm.imports.reading import ENCODINGS, MAX_BYTES, UnreadableFile, read_table
from crm.imports.records import (
    check_attendance,
    check_memberships,
    commit_attendance,
    commit_memberships,
)
from crm.imports.services import (
    ImportRefused,
    check_likers,
    commit_likers,
    default_decisions,
    mapping_problems,
    new_public_id,
)
from crm.imports.templates import FIELD_LABELS, template_csv
from crm.timeutil import utcnow

KEEP_UPLOADS_FOR = timedelta(days=1)
UNREADABLE = {
    "too_big": lambda: _("The file is larger than 50 MB."),
    "empty": lambda: _("The file is empty."),
    "encoding": lambda: _("The file cannot be read in the chosen character encoding: try another."),
    "xlsx": lambda: _("The file is not an Excel workbook (.xlsx) that can be read."),
}  # fmt: skip


def _upload_or_404(public_id: str) -> ImportUpload:
    upload = db.session.scalar(
        select(ImportUpload).where(ImportUpload.public_id == public_id)
    )
    if upload is None or (
        upload.created_by_id != current_user.id and not current_user.has_role("admin")
    ):
        abort(404)  # never tell others that the file exists
    return upload


def _table(upload: ImportUpload):
    return read_table(upload.content, upload.file_name, upload.encoding)


def _mapping(upload: ImportUpload) -> dict[int, str]:
    return {int(index): name for index, name in upload.mapping.items()}


@bp.route("/", methods=["GET", "POST"])
@requires_role("staff")
@allows_upload(MAX_BYTES + 1024 * 1024)  # the file and the rest of the form
def index():
    events = db.session.scalars(
        select(Event).order_by(Event.first_day.desc()).limit(200)
    ).all()
    if request.method == "POST":
        kind = request.form.get("kind", "likers")
        file = request.files.get("file")
        encoding = request.form.get("encoding", "auto")
        event_id = request.form.get("event_id", type=int)
        problem = None
        if kind not in IMPORT_KINDS:
            abort(400)
        if file is None or not file.filename:
            problem = _("Choose a file to import.")
        elif kind == "attendance" and db.session.get(Event, event_id or 0) is None:
            problem = _("Choose the event the sign-in sheet belongs to.")
        if problem is None:
            data = file.read()
            try:
                table = read_table(
                    data, file.filename, encoding if encoding in ENCODINGS else "auto"
                )
            except UnreadableFile as error:
                problem = UNREADABLE[error.code]()
        if problem:
            flash(problem, "danger")
            return render_template(
                "imports/index.html", events=events, form=request.form
            ), 400
        db.session.execute(
            delete(ImportUpload).where(
                ImportUpload.created_at < utcnow() - KEEP_UPLOADS_FOR
            )
        )
        upload = ImportUpload(
            public_id=new_public_id(),
            kind=kind,
            file_name=file.filename[:255],
            content=data,
            encoding=encoding if encoding in ENCODINGS else "auto",
            mapping={str(i): f for i, f in guess_mapping(table.headers, kind).items()},
            decisions={},
            event_id=event_id if kind == "attendance" else None,
            created_by_id=current_user.id,
        )
        db.session.add(upload)
        db.session.commit()
        return redirect(url_for("imports.columns", public_id=upload.public_id))
    return render_template("imports/index.html", events=events, form={})


@bp.route("/template/<kind>.csv")
@requires_role("staff")
def template(kind: str):
    if kind not in IMPORT_KINDS:
        abort(404)
    return Response(
        template_csv(kind),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{kind}.csv"'},
    )


@bp.route("/<public_id>/columns", methods=["GET", "POST"])
@requires_role("staff")
def columns(public_id: str):
    upload = _upload_or_404(public_id)
    if request.method == "POST":
        encoding = request.form.get("encoding", upload.encoding)
        upload.encoding = encoding if encoding in ENCODINGS else "auto"
    try:
        table = _table(upload)
    except UnreadableFile as error:
        flash(UNREADABLE[error.code](), "danger")
        upload.encoding = "auto"
        db.session.commit()
        return redirect(url_for("imports.columns", public_id=public_id))
    if request.method == "POST" and "encoding_only" not in request.form:
        fields = FIELDS[upload.kind]
        mapping, chosen = {}, set()
        for index in range(len(table.headers)):
            name = request.form.get(f"column-{index}", "")
            if name in fields and name not in chosen:
                mapping[str(index)] = name
                chosen.add(name)
        upload.mapping = mapping
        db.session.commit()
        return redirect(url_for("imports.preview", public_id=public_id))
    db.session.commit()
    samples = [cells for _line, cells in zip(range(3), table.rows(), strict=False)]
    return render_template(
        "imports/columns.html",
        upload=upload,
        table=table,
        samples=[cells for _n, cells in samples],
        mapping=_mapping(upload),
        fields=[(name, FIELD_LABELS[name]()) for name in FIELDS[upload.kind]],
    )


def _check(upload: ImportUpload):
    table = _table(upload)
    mapping = _mapping(upload)
    if upload.kind == "likers":
        problems = mapping_problems(mapping)
        return (
            table,
            mapping,
            (None if problems else check_likers(table, mapping)),
            problems,
        )
    if upload.kind == "attendance":
        event = db.session.get(Event, upload.event_id)
        return table, mapping, check_attendance(table, mapping, event), []
    return table, mapping, check_memberships(table, mapping), []


@bp.route("/<public_id>/preview")
@requires_role("staff")
def preview(public_id: str):
    upload = _upload_or_404(public_id)
    table, mapping, check, mapping_issues = _check(upload)
    decisions = upload.decisions or (
        default_decisions(check) if upload.kind == "likers" and check else {}
    )
    return render_template(
        "imports/preview.html",
        upload=upload,
        table=table,
        check=check,
        mapping_issues=mapping_issues,
        decisions=decisions,
        event=db.session.get(Event, upload.event_id) if upload.event_id else None,
    )


@bp.route("/<public_id>/errors.csv")
@requires_role("staff")
def errors(public_id: str):
    """The rows with problems as they were in the file, with their problems."""
    upload = _upload_or_404(public_id)
    table, _mapping_, check, _issues = _check(upload)
    problems = check.problems if check else {}
    rows = [
        [line, " / ".join(problems[line]), *cells]
        for line, cells in table.rows()
        if line in problems
    ]
    content, _unencodable = csv_bytes([_("Line"), _("Problems"), *table.headers], rows)
    return Response(
        content,
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="import-errors.csv"'},
    )


@bp.route("/<public_id>/commit", methods=["POST"])
@requires_role("staff")
def commit(public_id: str):
    upload = _upload_or_404(public_id)
    if upload.state == "committed":
        flash(_("This file has been imported already."), "warning")
        return redirect(url_for("imports.index"))
    if upload.kind == "likers" and request.form.get("consent") != "y":
        flash(
            _("Confirm that the people in the file agreed to the privacy notice."),
            "danger",
        )
        return redirect(url_for("imports.preview", public_id=public_id))
    decisions = {
        key.removeprefix("decision-"): value
        for key, value in request.form.items()
        if key.startswith("decision-")
        and (value in ("create", "skip") or value.startswith("update:"))
    }
    upload.decisions = decisions
    table, mapping, check, issues = _check(upload)
    if issues or check is None or not check.ok:
        db.session.commit()  # keep the decisions; the preview shows the problems
        flash(_("The file has problems: nothing was imported."), "danger")
        return redirect(url_for("imports.preview", public_id=public_id))
    try:
        if upload.kind == "likers":
            result = commit_likers(table, mapping, decisions, current_user)
            message = _("Imported: %(created)s new Likers, %(updated)s updated, %(skipped)s skipped.",
                        created=len(result.created), updated=len(result.updated),
                        skipped=result.skipped)  # fmt: skip
        elif upload.kind == "attendance":
            event = db.session.get(Event, upload.event_id)
            details = commit_attendance(check, event, current_user)
            message = _("Imported: %(added)s check-ins (%(already)s were there already).",
                        added=details["added"], already=details["already"])  # fmt: skip
        else:
            details = commit_memberships(check, current_user)
            message = _("Imported: %(added)s memberships (%(already)s were there already).",
                        added=details["added"], already=details["already"])  # fmt: skip
    except ImportRefused:
        db.session.rollback()
        flash(_("The file has problems: nothing was imported."), "danger")
        return redirect(url_for("imports.preview", public_id=public_id))
    upload.state = "committed"
    upload.content = b""  # the data now lives in the registry; the file is not kept
    db.session.commit()
    flash(message, "success")
    if upload.kind == "attendance":
        return redirect(url_for("events.show", event_id=upload.event_id))
    if upload.kind == "memberships":
        return redirect(url_for("societies.index"))
    return redirect(url_for("supporters.index"))


@bp.app_template_filter("duplicate_reason")
def duplicate_reason(key: str) -> str:
    """What a duplicate shares, in words: crm.imports.duplicates.SCORES's keys."""
    return {
        "email": _("same email"),
        "phone": _("same phone"),
        "kana_birth": _("same reading and date of birth"),
        "name_postal": _("same name and postal code"),
    }.get(key, key)
