"""Password rules: long enough, not a common password, not the email address.

The list of common passwords ships with the app (crm/auth/common_passwords.txt), so
the check works on closed networks (LGWAN) without asking any online service.
"""

from functools import cache
from pathlib import Path

from flask_babel import gettext as _

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list, in lower case (lines starting with # are notes)."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        return frozenset(
            line.rstrip("\n") for line in lines if line.strip() and line[0] != "#"
        )


def _variants(password: str) -> set[str]:
    """The forms compared with the list: as typed, without spaces, and the unit of a
    repeated password ("passwordpassword" is "password" twice)."""
    lowered = password.lower()
    forms = {lowered, "".join(lowered.split())}
    for size in range(1, len(lowered) // 2 + 1):
        if (
            len(lowered) % size == 0
            and lowered[:size] * (len(lowered) // size) == lowered
        ):
            forms.add(lowered[:size])
            break
    return forms


def is_common(password: str) -> bool:
    known = common_passwords()
    return any(form in known for form in _variants(password))


def password_problem(password: str, email: str = "") -> str | None:
    """Why this password may not be used, in the user's language; None when it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Use at most %(count)d characters.", count=MAX_PASSWORD_LENGTH)
    if len(set(password)) == 1:
        return _("This password is too easy to guess. Choose another one.")
    email = (email or "").strip().lower()
    lowered = password.strip().lower()
    if email and lowered in (email, email.split("@")[0]):
        return _("The password must not be your email address.")
    if is_common(password):
        return _(
            "This password is on the list of commonly used passwords. "
            "Choose another one."
        )
    return None
