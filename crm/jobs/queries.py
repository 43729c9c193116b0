"""Reading print jobs: one for its page, a user's recent ones."""

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from crm.auth.models import User
from crm.documents.models import PrintJob
from crm.extensions import db

RECENT_JOBS = 20


@dataclass
class JobStatus:
    """What the progress page shows; the PDF itself stays in the database."""

    id: int
    public_id: str
    kind: str
    layout: str
    state: str
    done: int
    total: int
    error: str | None
    file_name: str | None
    pdf_size: int | None  # None: no PDF (not ready, failed or deleted after a day)
    created_by_id: int | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0

    @property
    def downloadable(self) -> bool:
        return self.state == "done" and self.pdf_size is not None


_COLUMNS = (
    PrintJob.id, PrintJob.public_id, PrintJob.kind, PrintJob.layout, PrintJob.state,
    PrintJob.done, PrintJob.total, PrintJob.error, PrintJob.file_name,
    func.length(PrintJob.pdf).label("pdf_size"), PrintJob.created_by_id,
    PrintJob.created_at, PrintJob.finished_at,
)  # fmt: skip


def may_see(job: JobStatus | PrintJob, user: User) -> bool:
    """Print jobs are their maker's, and the administrators'."""
    return job.created_by_id == user.id or user.has_role("admin")


def get_job_status_or_404(public_id: str, user: User) -> JobStatus:
    """The job, or 404 also when it belongs to someone else (no hint that it exists)."""
    row = db.session.execute(
        select(*_COLUMNS).where(PrintJob.public_id == public_id)
    ).one_or_none()
    if row is None:
        abort(404)
    status = JobStatus(**row._asdict())
    if not may_see(status, user):
        abort(404)
    return status


def get_job_with_pdf_or_404(public_id: str, user: User) -> PrintJob:
    job = db.session.scalar(
        select(PrintJob)
        .where(PrintJob.public_id == public_id)
        .options(undefer(PrintJob.pdf))
    )
    if job is None or not may_see(job, user):
        abort(404)
    return job


def list_recent_jobs(user: User, limit: int = RECENT_JOBS) -> list[JobStatus]:
    """The user's latest print jobs, newest first."""
    rows = db.session.execute(
        select(*_COLUMNS)
        .where(PrintJob.created_by_id == user.id)
        .order_by(PrintJob.created_at.desc(), PrintJob.id.desc())
        .limit(limit)
    )
    return [JobStatus(**row._asdict()) for row in rows]
