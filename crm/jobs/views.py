"""The progress page of a print job, its status for the page's script, the PDF."""

import io

from flask import jsonify, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.audit.services import record_event
from crm.auth.permissions import requires_role
from crm.database import writes_data
from crm.extensions import db
from crm.jobs import bp
from crm.jobs.queries import (
    JobStatus,
    get_job_status_or_404,
    get_job_with_pdf_or_404,
    list_recent_jobs,
)
from crm.timeutil import utcnow

# Past this a queued job's page says that the worker may not be running.
WAITING_TOO_LONG_SECONDS = 60


@bp.route("/")
@requires_role("staff")
def index():
    """The signed-in user's recent print jobs."""
    jobs = list_recent_jobs(current_user)
    kinds = {"card": _("Business cards"), "certificate": _("Certificates")}
    return render_template(
        "jobs/index.html", jobs=jobs, kinds=kinds, messages=_messages
    )


@bp.route("/<public_id>")
@requires_role("staff")
def show(public_id: str):
    job = get_job_status_or_404(public_id, current_user)
    return render_template(
        "jobs/show.html",
        job=job,
        title=_titles().get(job.kind, job.kind),
        message=_messages(job),
        file_label=_file_label(job),
        waiting_long=_waiting_long(job),
    )


@bp.route("/<public_id>.json")
@requires_role("staff")
def status(public_id: str):
    """What the progress page's script polls every second."""
    job = get_job_status_or_404(public_id, current_user)
    return jsonify(
        state=job.state,
        done=job.done,
        total=job.total,
        percent=job.percent,
        message=_messages(job),
        error=job.error,
        download_url=(
            url_for("jobs.download", public_id=job.public_id)
            if job.downloadable
            else None
        ),
        file_label=_file_label(job),
        waiting_long=_waiting_long(job),
    )


@bp.route("/<public_id>/download")
@requires_role("staff")
@writes_data
def download(public_id: str):
    job = get_job_with_pdf_or_404(public_id, current_user)
    if job.state != "done" or job.pdf is None:
        # Not ready, failed or deleted after a day: the page says which.
        return redirect(url_for("jobs.show", public_id=job.public_id))
    record_event(
        "download", "print_job", job.id, {"kind": job.kind, "count": job.total}
    )
    db.session.commit()
    return send_file(
        io.BytesIO(job.pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=job.file_name or "print.pdf",
    )


def _titles() -> dict[str, str]:
    return {
        "card": _("Printing business cards"),
        "certificate": _("Printing certificates"),
    }


def _messages(job: JobStatus) -> str:
    """One line on where the job stands."""
    if job.state == "queued":
        return _("Waiting to start…")
    if job.state == "running":
        return _("Printing: %(done)s of %(total)s done.",
                 done=f"{job.done:,}", total=f"{job.total:,}")  # fmt: skip
    if job.state == "failed":
        return _("Printing failed. Nothing was printed.")
    if job.downloadable:
        return _("Ready: %(total)s documents.", total=f"{job.total:,}")
    return _("The PDF was deleted 24 hours after it was made. Print again from "
             "the list if you need it.")  # fmt: skip


def _waiting_long(job: JobStatus) -> bool:
    waited = utcnow() - job.created_at
    return job.state == "queued" and waited.total_seconds() > WAITING_TOO_LONG_SECONDS


def _file_size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1_000_000:
        return f"{max(1, round(size / 1000))} KB"
    return f"{size / 1_000_000:.1f} MB"


def _file_label(job: JobStatus) -> str:
    if not job.downloadable:
        return ""
    return f"{job.file_name} ({_file_size(job.pdf_size)})"
