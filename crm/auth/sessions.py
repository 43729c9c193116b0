"""Server-side sign-in sessions: a fresh one at sign-in, ended at sign-out, on a
password change and after the idle or absolute timeout.

The signed cookie carries a random token ("sid") and the time of the last request
("seen", for the idle timeout); the database holds the token's digest, when the
session began (for the absolute timeout) and whether it has ended.
"""

import hashlib
import secrets
import time
from datetime import timedelta

from flask import current_app, flash, g, request, session
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import update

from crm.auth.models import User, UserSession
from crm.extensions import db
from crm.timeutil import utcnow

# No session work (no "seen" refresh, no Set-Cookie): files and the health check.
STATIC_ENDPOINTS = {"static", "bootstrap.static", "main.healthz"}
# The "seen" time is rewritten (and the cookie sent again) at most this often.
SEEN_RESOLUTION_SECONDS = 30


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _fresh_cookie_session() -> None:
    """Empty the cookie session, keeping only the chosen language."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language


def start_session(user: User) -> UserSession:
    """Sign the user in on a new session: nothing of the old cookie is kept."""
    _fresh_cookie_session()
    token = secrets.token_urlsafe(32)
    row = UserSession(id=_digest(token), user_id=user.id, created_at=utcnow())
    db.session.add(row)
    session["sid"] = token
    session["seen"] = int(time.time())
    login_user(user)
    return row


def end_session(reason: str = "sign_out") -> None:
    """End this browser's session (the caller commits)."""
    token = session.get("sid")
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == _digest(token), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason)
        )
    logout_user()
    _fresh_cookie_session()


def end_all_sessions(user_id: int, reason: str = "password") -> int:
    """End every session of a user, e.g. after a password change; returns how many."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    return result.rowcount


def _problem(now_epoch: int) -> str | None:
    """Why the signed-in session may not go on: ended, idle or absolute; or None."""
    token = session.get("sid")
    row = db.session.get(UserSession, _digest(token)) if token else None
    if row is None or row.ended_at is not None:
        return "ended"
    if str(row.user_id) != str(session.get("_user_id")):
        return "ended"
    user = db.session.get(User, row.user_id)  # Flask-Login reuses it from the session
    if user is None or not user.active:
        return "ended"
    config = current_app.config
    if utcnow() - row.created_at > timedelta(hours=config["SESSION_MAX_HOURS"]):
        return "absolute"
    seen = session.get("seen")
    if (
        not isinstance(seen, int)
        or now_epoch - seen > 60 * config["SESSION_IDLE_MINUTES"]
    ):
        return "idle"
    return None


def _end_now(token: str, reason: str) -> None:
    """Mark a timed-out session ended, in a short transaction of its own."""
    db.session.rollback()  # a GET's transaction so far only read
    writes_data = g.get("writes_data", False)
    g.writes_data = True  # SQLite: take the write lock at BEGIN, not halfway
    try:
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == _digest(token), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason)
        )
        db.session.commit()
    finally:
        g.writes_data = writes_data


def check_session():
    """before_request: a cookie whose session ended or timed out signs nobody in."""
    if request.endpoint in STATIC_ENDPOINTS or "_user_id" not in session:
        return None
    now = int(time.time())
    problem = _problem(now)
    if problem is None:
        if now - session["seen"] >= SEEN_RESOLUTION_SECONDS:
            session["seen"] = now
        return None
    token = session.get("sid")
    if token and problem in ("idle", "absolute"):
        _end_now(token, problem)
    logout_user()
    _fresh_cookie_session()
    g.session_ended = problem
    if problem == "idle":
        flash(
            _(
                "You were signed out after a period of inactivity. Please sign in again."
            ),
            "warning",
        )
    elif problem == "absolute":
        flash(
            _("Your session has reached its time limit. Please sign in again."),
            "warning",
        )
    else:
        flash(_("Your session has ended. Please sign in again."), "warning")
    return None
