"""The audit screens for administrators: filter the log, check the chain, and
list whom a past export or print held (for a leak report)."""

import csv
import io
from datetime import date

from flask import Response, abort, render_template, request
from sqlalchemy import select

from crm.audit import bp
from crm.audit.labels import action_label, object_label
from crm.audit.models import AuditEntry
from crm.audit.queries import (
    AuditFilter,
    distinct_values,
    exported_likers,
    list_entries,
    listed_ids,
    verify_chain,
)
from crm.audit.services import record_event
from crm.auth.models import User
from crm.auth.permissions import requires_role
from crm.database import writes_data
from crm.extensions import db


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _number(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


def filters_from_request() -> AuditFilter:
    return AuditFilter(
        user_id=_number("user"),
        action=request.args.get("action", "")[:40],
        object_type=request.args.get("object_type", "")[:40],
        object_id=_number("object_id"),
        date_from=_date("from"),
        date_to=_date("to"),
    )


@bp.route("/")
@requires_role("admin")
def index():
    filters = filters_from_request()
    page = request.args.get("page", 1, type=int)
    users = list(db.session.scalars(select(User).order_by(User.name)))
    return render_template(
        "admin/audit.html",
        filters=filters,
        pagination=list_entries(filters, max(page, 1)),
        users=users,
        user_names={user.id: user.name for user in users},
        actions=distinct_values(AuditEntry.action),
        object_types=distinct_values(AuditEntry.object_type),
        check=verify_chain() if request.args.get("verify") == "1" else None,
        action_label=action_label,
        object_label=object_label,
    )


@bp.route("/<int:entry_id>/contents")
@requires_role("admin")
@writes_data
def contents(entry_id: int):
    """Whom the file of a past export or print held, from its audit row."""
    entry = db.get_or_404(AuditEntry, entry_id)
    if not listed_ids(entry):
        abort(404)
    likers = exported_likers(entry)
    record_event("reconstruct", "audit_entry", entry.id, {"count": len(likers)})
    db.session.commit()
    if request.args.get("format") == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["liker_id", "registration_number"])
        writer.writerows([liker.id, liker.registration_number] for liker in likers)
        return Response(
            "\ufeff" + buffer.getvalue(),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f"attachment; filename=audit-{entry.id}-likers.csv"
            },
        )
    return render_template("admin/audit_contents.html", entry=entry, likers=likers)
