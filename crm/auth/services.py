from sqlalchemy import func, select

from crm.audit.services import record_event
from crm.auth.models import ROLES, User
from crm.extensions import db
from crm.timeutil import utcnow

MIN_PASSWORD_LENGTH = 12


class UserError(ValueError):
    """A user account cannot be created or changed as asked."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(
        select(User).where(func.lower(User.email) == email.lower())
    )


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None; the attempt is audited."""
    user = find_user_by_email(email.strip())
    if user is None or not user.check_password(password) or not user.active:
        record_event("sign_in_failed", "user", user.id if user else None)
        return None
    user.last_login_at = utcnow()
    record_event("sign_in", "user", user.id, user=user)
    return user


def create_user(email: str, name: str, role: str, password: str) -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if find_user_by_email(email):
        raise UserError(f"a user with email {email} already exists")
    user = User(email=email, name=name or email.split("@")[0], role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record_event("create", "user", user.id)
    return user
