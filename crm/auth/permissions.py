"""Default-deny access control: every endpoint needs sign-in and a role unless marked."""

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from crm.auth.models import ROLE_RANK

# Endpoints of other packages that are public by nature.
PUBLIC_ENDPOINTS = {"static", "bootstrap.static"}
DEFAULT_ROLE = "viewer"


def public(view):
    """Mark a view as open to signed-out visitors."""
    view.public = True
    return view


def requires_role(role: str):
    """Mark the lowest role allowed to use a view; enforced in enforce_access()."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def mark(view):
        view.required_role = role
        return view

    return mark


def required_role_for(endpoint: str) -> str | None:
    """The role an endpoint needs, or None when it is public."""
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    view = current_app.view_functions[endpoint]
    if getattr(view, "public", False):
        return None
    return getattr(view, "required_role", DEFAULT_ROLE)


def enforce_access():
    """before_request hook: signed-out users go to sign-in, too-low roles get 403."""
    if request.endpoint is None:  # 404 or 405, answered by Flask itself
        return None
    role = required_role_for(request.endpoint)
    if role is None:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not current_user.has_role(role):
        abort(403)
    return None
