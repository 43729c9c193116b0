"""Print jobs: ask for one, claim it, finish it, forget its PDF after a day.

These never commit. A job is put on the queue only once the transaction that
created it has committed: a worker must find the row, and a rolled-back request
must leave no task behind.
"""

import secrets
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app, has_request_context
from flask_babel import get_locale
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from crm.auth.models import User
from crm.documents.models import DOCUMENT_KINDS, PrintJob
from crm.extensions import db
from crm.supporters.models import Supporter
from crm.timeutil import today_jst, utcnow

KEEP_PDF_FOR = timedelta(hours=24)
# A job still queued or running this long after it was asked for is given up: its
# worker was stopped (a restart, a crash) and it will not finish.
GIVE_UP_AFTER = timedelta(hours=2)
LOAD_CHUNK = 500  # Likers per SELECT … WHERE id IN (…)
FILE_PREFIXES = {"card": "cards", "certificate": "certificates"}

_TO_ENQUEUE = "crm_jobs_to_enqueue"
_COMMITTED = "crm_jobs_committed"


def start_print_job(
    kind: str,
    layout: str,
    supporter_ids: Iterable[int],
    options: dict | None,
    record_issue: bool,
    user: User | None,
) -> PrintJob:
    """A queued job printing these Likers in this order; it starts after the commit."""
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    ids = list(dict.fromkeys(int(i) for i in supporter_ids))
    job = PrintJob(
        public_id=secrets.token_urlsafe(16),
        kind=kind,
        layout=layout,
        options=dict(options or {}),
        supporter_ids=ids,
        record_issue=record_issue,
        state="queued",
        done=0,
        total=len(ids),
        created_by_id=user.id if user is not None else None,
    )
    db.session.add(job)
    db.session.flush()
    delete_old_pdfs()
    _enqueue_after_commit(job.id, _language())
    return job


def _language() -> str:
    locale = get_locale() if has_request_context() else None
    return str(locale) if locale else current_app.config["BABEL_DEFAULT_LOCALE"]


def _enqueue_after_commit(job_id: int, language: str) -> None:
    session = db.session()
    pending = session.info.setdefault(_TO_ENQUEUE, [])
    pending.append((current_app._get_current_object(), job_id, language))


@event.listens_for(Session, "after_commit")
def _note_commit(session: Session) -> None:
    if session.info.get(_TO_ENQUEUE):
        session.info.setdefault(_COMMITTED, []).extend(session.info.pop(_TO_ENQUEUE))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_TO_ENQUEUE, None)


@event.listens_for(Session, "after_transaction_end")
def _enqueue_committed(session: Session, transaction) -> None:
    # After the connection went back to the pool: on SQLite the write lock is free,
    # so a job run at once (JOBS_IMMEDIATE) can write.
    if transaction.parent is not None or not session.info.get(_COMMITTED):
        return
    from crm.jobs.queue import get_queue

    for app, job_id, language in session.info.pop(_COMMITTED):
        try:
            get_queue(app).enqueue_print_job(job_id, language)
        except Exception:
            # The job stays queued; its page says so, and the clean-up gives it up.
            app.logger.exception("Print job %s could not be queued.", job_id)


def claim_job(job_id: int) -> bool:
    """Mark a queued job as running; False when another worker has it already."""
    result = db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.state == "queued")
        .values(state="running", done=0)
    )
    return result.rowcount == 1


def load_supporters(supporter_ids: list[int]) -> list[Supporter]:
    """The Likers still registered, in the order asked for.

    Likers withdrawn since the job was asked for are left out: their QR codes no
    longer work.
    """
    found: dict[int, Supporter] = {}
    for start in range(0, len(supporter_ids), LOAD_CHUNK):
        chunk = supporter_ids[start : start + LOAD_CHUNK]
        found.update(
            (s.id, s)
            for s in db.session.scalars(
                select(Supporter).where(Supporter.id.in_(chunk))
            )
        )
    return [
        found[i] for i in supporter_ids if i in found and found[i].status == "active"
    ]


def set_progress(job_id: int, done: int, total: int | None = None) -> None:
    values: dict = {"done": done}
    if total is not None:
        values["total"] = total
    db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.state == "running")
        .values(**values)
    )


def finish_job(job: PrintJob, pdf: bytes, count: int) -> None:
    job.pdf = pdf
    job.file_name = f"{FILE_PREFIXES[job.kind]}-{today_jst():%Y%m%d}-{count}.pdf"
    job.done = job.total = count
    job.state = "done"
    job.error = None
    job.finished_at = utcnow()


def fail_job(job_id: int, message: str) -> None:
    db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id)
        .values(state="failed", error=message, pdf=None, finished_at=utcnow())
    )


def delete_old_pdfs() -> int:
    """Drop the PDFs finished more than KEEP_PDF_FOR ago: they hold personal data."""
    result = db.session.execute(
        update(PrintJob)
        .where(
            PrintJob.finished_at < utcnow() - KEEP_PDF_FOR, PrintJob.pdf.is_not(None)
        )
        .values(pdf=None)
    )
    return result.rowcount


def give_up_stale_jobs(message: str) -> int:
    """Fail the jobs whose worker stopped before finishing them."""
    result = db.session.execute(
        update(PrintJob)
        .where(
            or_(PrintJob.state == "queued", PrintJob.state == "running"),
            PrintJob.created_at < utcnow() - GIVE_UP_AFTER,
        )
        .values(state="failed", error=message, finished_at=utcnow())
    )
    return result.rowcount
