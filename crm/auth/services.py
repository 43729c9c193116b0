from dataclasses import dataclass

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from crm.audit.services import record_event
from crm.auth import throttling
from crm.auth.models import ROLES, User
from crm.auth.passwords import MIN_PASSWORD_LENGTH, password_problem
from crm.auth.sessions import end_all_sessions
from crm.extensions import db
from crm.timeutil import utcnow

__all__ = ["MIN_PASSWORD_LENGTH"]  # re-exported for the forms


class UserError(ValueError):
    """A user account cannot be created or changed as asked."""


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    wait_seconds: int = 0  # > 0: refused without checking, try again after this

    @property
    def throttled(self) -> bool:
        return self.wait_seconds > 0


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(
        select(User).where(func.lower(User.email) == email.lower())
    )


_dummy_hash: list[str] = []


def _spend_password_check_time(password: str) -> None:
    """Check against a throwaway hash: unknown emails answer as slowly as known ones."""
    if not _dummy_hash:
        _dummy_hash.append(generate_password_hash("not a real password", "scrypt"))
    check_password_hash(_dummy_hash[0], password)


def sign_in(
    email: str, password: str, address: str | None, *, signing_in: bool = True
) -> SignInResult:
    """Check credentials under the account's and the address's throttles.

    Every attempt is audited (user id when known, never the email typed). The caller
    commits, which also releases the throttle rows' locks. signing_in=False only
    checks the password (e.g. the current one before a change).
    """
    limits = throttling.Limits.from_config()
    # Always in this order (account, then address): two attempts never deadlock.
    account = throttling.locked_row(throttling.account_key(email))
    origin = throttling.locked_row(throttling.ip_key(address))
    now = utcnow()  # after waiting for the locks
    user = find_user_by_email(email.strip())
    user_id = user.id if user else None
    wait = max(
        throttling.seconds_to_wait(account, now),
        throttling.seconds_to_wait(origin, now),
    )
    if wait:
        record_event("sign_in_throttled", "user", user_id, {"wait_seconds": wait})
        return SignInResult(None, wait)
    if user is None:
        _spend_password_check_time(password)
    if user is None or not user.check_password(password) or not user.active:
        throttling.record_failure(account, limits.account_limit, limits, now)
        throttling.record_failure(origin, limits.ip_limit, limits, now)
        record_event("sign_in_failed", "user", user_id)
        return SignInResult(None)
    throttling.clear(account)
    if signing_in:
        user.last_login_at = now
        record_event("sign_in", "user", user.id, user=user)
    return SignInResult(user)


def create_user(email: str, name: str, role: str, password: str) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    problem = password_problem(password, email)
    if problem:
        raise UserError(problem)
    if find_user_by_email(email):
        raise UserError(f"a user with email {email} already exists")
    user = User(email=email, name=name or email.split("@")[0], role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record_event("create", "user", user.id)
    return user


def set_user_password(user: User, password: str) -> None:
    """A new password (checked); every session of the user ends."""
    problem = password_problem(password, user.email)
    if problem:
        raise UserError(problem)
    user.set_password(password)
    ended = end_all_sessions(user.id, "password")
    record_event("password_changed", "user", user.id, {"sessions_ended": ended})
