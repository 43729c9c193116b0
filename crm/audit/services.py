from flask import has_request_context, request
from flask_login import current_user

from crm.audit.models import AuditEntry
from crm.extensions import db


def record_event(
    action: str,
    object_type: str,
    object_id: int | None,
    details: dict | None = None,
    user=None,
) -> AuditEntry:
    """Add an audit row to the current transaction (the caller commits)."""
    actor = user
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    entry = AuditEntry(
        user_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
