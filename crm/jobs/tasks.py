"""What the queue's workers run, each in an app context of its own.

Like a CLI command, a task owns its transactions. Rendering runs outside any
transaction: on SQLite a worker's transaction holds the write lock, which the
desk and the forms need too.
"""

import logging
from collections.abc import Callable
from time import monotonic

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.admin.services import get_settings
from crm.auth.models import User
from crm.documents.models import PrintJob
from crm.documents.services import (
    fonts_missing_message,
    public_base_url_is_usable,
    public_base_url_message,
    record_issues,
    render_documents,
    text_problem_message,
)
from crm.extensions import db
from crm.jobs.services import (
    claim_job,
    delete_old_pdfs,
    fail_job,
    finish_job,
    give_up_stale_jobs,
    load_supporters,
    set_progress,
)
from crm.printing.fonts import FontsMissing
from crm.printing.text import TextProblem

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 1.0  # the page asks once a second; writing more often is waste


class JobFailed(Exception):
    """A job that cannot be printed; the message is for the member of staff."""


def run_print_job(job_id: int, language: str | None = None) -> bool:
    """Print a queued job into its row. False when another worker claimed it first."""
    claimed = claim_job(job_id)
    db.session.commit()
    if not claimed:
        logger.info("Print job %s: already taken by another worker.", job_id)
        return False
    # The Likers must stay loaded across the short progress commits.
    db.session().expire_on_commit = False
    with force_locale(language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            pdf, printed_ids = _render(job_id)
        except JobFailed as failure:
            _fail(job_id, str(failure))
            return True
        except Exception:
            logger.exception("Print job %s failed.", job_id)
            _fail(job_id, _unexpected_error())
            return True
        try:
            job = db.session.get(PrintJob, job_id)
            finish_job(job, pdf, len(printed_ids))
            if job.record_issue:
                user = (
                    db.session.get(User, job.created_by_id)
                    if job.created_by_id
                    else None
                )
                record_issues(printed_ids, job.kind, user)
            db.session.commit()
        except Exception:
            logger.exception("Print job %s: the PDF could not be saved.", job_id)
            _fail(job_id, _unexpected_error())
    return True


def _render(job_id: int) -> tuple[bytes, list[int]]:
    """The PDF and the Likers on it; raises JobFailed with a message for staff."""
    job = db.session.get(PrintJob, job_id)
    base_url = current_app.config["PUBLIC_BASE_URL"]
    if not public_base_url_is_usable(base_url, current_app):
        raise JobFailed(public_base_url_message())
    supporters = load_supporters(list(job.supporter_ids))
    if not supporters:
        raise JobFailed(_("Nobody to print for."))
    settings = get_settings()
    set_progress(job_id, 0, total=len(supporters))
    kind, layout, options = job.kind, job.layout, dict(job.options or {})
    db.session.commit()  # no transaction stays open while drawing
    try:
        pdf = render_documents(
            kind,
            supporters,
            layout,
            settings,
            base_url,
            tuple(current_app.config["FONT_DIRS"]),
            options=options,
            progress=ProgressWriter(job_id),
        )
    except FontsMissing as error:
        raise JobFailed(fonts_missing_message()) from error
    except TextProblem as problem:
        raise JobFailed(text_problem_message(problem)) from problem
    return pdf, [s.id for s in supporters]


class ProgressWriter:
    """progress(done) for the renderer: the count goes to the job row, once a second.

    Each call also ends the transaction that the renderer's own reads may have
    begun (a worker's transaction holds SQLite's write lock), and each write is a
    short transaction of its own, which the progress page sees at once.
    """

    def __init__(self, job_id: int, clock: Callable[[], float] | None = None):
        self.job_id = job_id
        self.clock = clock or monotonic
        self.written_at = self.clock()  # 0 was written just before drawing began

    def __call__(self, done: int) -> None:
        now = self.clock()
        if now - self.written_at >= PROGRESS_SECONDS:
            set_progress(self.job_id, done)
            self.written_at = now
        db.session.commit()


def _fail(job_id: int, message: str) -> None:
    db.session.rollback()
    fail_job(job_id, message)
    db.session.commit()


def _unexpected_error() -> str:
    return _(
        "Printing stopped because of an unexpected error. Nothing was printed. "
        "Try again; if it happens again, ask IT staff (the server log has the details)."
    )


def clean_up_jobs() -> None:
    """Forget PDFs older than a day; give up jobs whose worker stopped."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = _(
            "Printing was interrupted (the server was restarted). Nothing was "
            "printed: start it again."
        )
    delete_old_pdfs()
    give_up_stale_jobs(message)
    db.session.commit()
