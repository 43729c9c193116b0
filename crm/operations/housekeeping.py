"""Removing what the app keeps only for a while: `flask --app crm housekeeping`.

Each of these is also removed as the app goes (print PDFs after 24 hours, upload
files at the next upload, rate-limit windows now and then), except where nothing
triggers it: sign-in throttling keeps the failing address, and ended sign-in
sessions stay as rows. Run daily (docs/backup.md has the timer next to the backup).
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_

from crm.auth.models import SignInThrottle, UserSession
from crm.extensions import db
from crm.imports.models import ImportUpload
from crm.imports.views import KEEP_UPLOADS_FOR
from crm.jobs.services import delete_old_pdfs
from crm.registration.models import RateLimitCounter
from crm.timeutil import utcnow

# Ended sessions are kept a while for anyone looking into a sign-in (the audit log
# keeps the sign-ins themselves for good).
KEEP_ENDED_SESSIONS_FOR = timedelta(days=30)


@dataclass
class Removed:
    throttles: int
    sessions: int
    print_pdfs: int
    uploads: int
    rate_limit_windows: int


def remove_expired(now=None) -> Removed:
    """Delete what has served its time; the caller commits."""
    now = now or utcnow()
    config = current_app.config
    window = timedelta(seconds=config["SIGN_IN_WINDOW_SECONDS"])
    # A throttle row matters while it blocks or counts failures in the window; after
    # that it only says that an address (personal data) once failed to sign in.
    throttles = db.session.execute(
        delete(SignInThrottle).where(
            or_(
                SignInThrottle.blocked_until.is_(None),
                SignInThrottle.blocked_until < now,
            ),
            or_(
                SignInThrottle.last_failure_at.is_(None),
                SignInThrottle.last_failure_at < now - window,
            ),
        )  # fmt: skip
    ).rowcount
    # A session is over when ended, or when older than the longest a session lasts.
    over_before = now - timedelta(hours=config["SESSION_MAX_HOURS"])
    sessions = db.session.execute(
        delete(UserSession).where(
            or_(
                UserSession.ended_at < now - KEEP_ENDED_SESSIONS_FOR,
                UserSession.created_at < over_before - KEEP_ENDED_SESSIONS_FOR,
            )
        )
    ).rowcount
    uploads = db.session.execute(
        delete(ImportUpload).where(ImportUpload.created_at < now - KEEP_UPLOADS_FOR)
    ).rowcount
    windows = db.session.execute(
        delete(RateLimitCounter).where(
            RateLimitCounter.window_start < int(time.time()) - 24 * 3600
        )
    ).rowcount
    return Removed(throttles, sessions, delete_old_pdfs(), uploads, windows)
