"""The check-in desk: one input for QR scans, numbers and names; walk-in counters.

Every action answers JSON to the desk's script and falls back to a flash and a
redirect when the browser posts the form itself.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.auth.permissions import requires_role
from crm.desk import bp
from crm.desk.forms import QuickSupporterForm
from crm.events.forms import RoleForm, group_labels, role_labels
from crm.events.models import ATTENDANCE_ROLES, GUEST_GROUPS, Event, EventDay
from crm.events.queries import (
    checked_in_at,
    desk_counts,
    find_by_code,
    recent_check_ins,
    search_candidates,
)
from crm.events.services import change_walk_ins, check_in, mark_held
from crm.events.views import wants_json
from crm.extensions import db
from crm.japanese import without_control_characters
from crm.supporters.models import Channel, Supporter
from crm.supporters.queries import list_categories
from crm.supporters.services import register_supporter
from crm.templating import format_time, residence_label
from crm.timeutil import today_jst

DESK_CHANNEL = "イベント会場"


def _get_day_or_404(day_id: int) -> EventDay:
    day = db.session.get(EventDay, day_id, options=[joinedload(EventDay.event)])
    if day is None:
        abort(404)
    return day


@bp.route("/")
@requires_role("staff")
def index():
    """Choose the event day: today's first, then the coming and the last few."""
    today = today_jst()
    days = db.session.execute(
        select(EventDay, Event)
        .join(Event)
        .where(
            EventDay.day >= today - timedelta(days=7),
            EventDay.day <= today + timedelta(days=30),
            Event.status != "cancelled",
        )
        .order_by(EventDay.day, Event.title)
    ).all()
    return render_template("desk/index.html", days=days, today=today)


@bp.route("/<int:day_id>")
@requires_role("staff")
def show(day_id: int):
    day = _get_day_or_404(day_id)
    return render_template(
        "desk/show.html",
        day=day,
        event=day.event,
        today=today_jst(),
        form=RoleForm(),
        quick_form=QuickSupporterForm(categories=list_categories(active_only=True)),
        totals=desk_counts(day.id),
        recent=[_attendance_json(a) for a in recent_check_ins(day.id)],
        roles=role_labels(),
        groups=group_labels(),
    )


def _supporter_json(supporter: Supporter) -> dict:
    return {
        "id": supporter.id,
        "name": supporter.full_name,
        "kana": supporter.full_kana,
        "number": supporter.registration_number,
        "residence": residence_label(supporter.residence),
    }


def _attendance_json(attendance) -> dict:
    return {
        "id": attendance.id,
        "time": format_time(attendance.checked_in_at),
        "role": str(role_labels().get(attendance.role, attendance.role)),
        "supporter": _supporter_json(attendance.supporter),
        "undo_url": url_for(
            "events.undo",
            event_id=attendance.event_day.event_id,
            attendance_id=attendance.id,
        ),
    }


def _answer(day: EventDay, result: str, message: str, status: int = 200, **extra):
    """The desk's answer: JSON with the running totals, or a flash and redirect.

    Commits the request's changes. The answer is put together first, inside the
    transaction, so that nothing has to be read again after the commit.
    """
    if wants_json():
        body = {"result": result, "message": message, **extra}
        body["totals"] = desk_counts(day.id)
        db.session.commit()
        return jsonify(body), status
    db.session.commit()
    flash(
        message,
        {"checked_in": "success", "counted": "success", "already": "warning"}.get(
            result, "danger"
        ),
    )
    return redirect(url_for("desk.show", day_id=day.id))


def _cancelled(day: EventDay):
    return _answer(day, "cancelled", _("This event is cancelled."), 409)


@dataclass
class ScanRequest:
    """What the desk posts for a check-in.

    Read without a WTForms form: this is the hottest request of the app and has no
    page to show errors on. CSRFProtect has already checked the token.
    """

    code: str
    supporter_id: int | None
    role: str

    @classmethod
    def from_form(cls, form) -> "ScanRequest | None":
        code = without_control_characters(form.get("code", ""))
        chosen = form.get("supporter_id", "")
        if len(code) > 500 or (chosen and not chosen.isdigit()):
            return None
        role = form.get("role", "participant")
        return cls(
            code=code,
            supporter_id=int(chosen) if chosen else None,
            role=role if role in ATTENDANCE_ROLES else "participant",
        )


@bp.route("/<int:day_id>/check-in", methods=["POST"])
@requires_role("staff")
def check_in_view(day_id: int):
    day = _get_day_or_404(day_id)
    scan = ScanRequest.from_form(request.form)
    if scan is None:
        return _answer(day, "invalid", _("The input could not be read."), 400)
    if day.event.status == "cancelled":
        return _cancelled(day)
    if scan.supporter_id is not None:
        supporter = db.session.get(Supporter, scan.supporter_id)
        method = "search"
    else:
        match = find_by_code(scan.code)
        supporter, method = match.supporter, match.method
    role = scan.role
    if supporter is None:
        text = scan.code.strip()
        candidates = search_candidates(text) if text else []
        if not candidates:
            return _answer(
                day, "not_found",
                _("Nobody found for “%(text)s”.", text=text[:40]),
            )  # fmt: skip
        times = checked_in_at(day.id, [c.id for c in candidates])
        return _answer(
            day, "choose",
            _("%(count)s found. Press the number key to check in.", count=len(candidates)),
            candidates=[
                {**_supporter_json(c), "checked_in_at": format_time(times.get(c.id))}
                for c in candidates
            ],
        )  # fmt: skip
    if supporter.is_withdrawn:
        return _answer(
            day, "withdrawn",
            _("%(name)s (%(number)s) has withdrawn. Not checked in.",
              name=supporter.full_name, number=supporter.registration_number),
            supporter=_supporter_json(supporter),
        )  # fmt: skip
    result = check_in(day, supporter, role, method, current_user)
    if result.created:
        mark_held(day.event)
    attendance = _attendance_json(result.attendance)
    if result.created:
        return _answer(
            day, "checked_in",
            _("Checked in: %(name)s", name=supporter.full_name),
            supporter=_supporter_json(supporter), attendance=attendance,
        )  # fmt: skip
    return _answer(
        day, "already",
        _("Already checked in at %(time)s. Not counted again.", time=attendance["time"]),
        supporter=_supporter_json(supporter), attendance=attendance,
    )  # fmt: skip


@bp.route("/<int:day_id>/register", methods=["POST"])
@requires_role("staff")
def register(day_id: int):
    """Register a new Liker at the desk and check them in, in one step."""
    day = _get_day_or_404(day_id)
    if day.event.status == "cancelled":
        return _cancelled(day)
    form = QuickSupporterForm(categories=list_categories(active_only=True))
    if not form.validate_on_submit():
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        if wants_json():
            return jsonify(
                result="invalid",
                message=_("Please correct the fields marked in red. Nothing was saved yet."),
                errors=errors,
            ), 422  # fmt: skip
        for messages in errors.values():
            for message in messages:
                flash(message, "danger")
        return redirect(url_for("desk.show", day_id=day.id))
    channel_id = db.session.scalar(
        select(Channel.id).where(Channel.name == DESK_CHANNEL)
    )
    supporter = register_supporter(form.to_data(channel_id), current_user, "desk")
    result = check_in(day, supporter, "participant", "new", current_user)
    mark_held(day.event)
    return _answer(
        day, "checked_in",
        _("Registered as No. %(number)s and checked in: %(name)s",
          number=supporter.registration_number, name=supporter.full_name),
        supporter=_supporter_json(supporter),
        attendance=_attendance_json(result.attendance),
        new=True,
    )  # fmt: skip


@bp.route("/<int:day_id>/walk-ins", methods=["POST"])
@requires_role("staff")
def walk_ins(day_id: int):
    day = _get_day_or_404(day_id)
    if day.event.status == "cancelled":
        return _cancelled(day)
    group = request.form.get("group")
    delta = request.form.get("delta", type=int)
    if group not in GUEST_GROUPS or delta not in (1, -1):
        return _answer(day, "invalid", _("The input could not be read."), 400)
    count = change_walk_ins(day, group, delta)
    return _answer(
        day, "counted",
        _("%(group)s: %(count)s", group=group_labels()[group], count=count),
    )  # fmt: skip


@bp.route("/<int:day_id>/status")
@requires_role("staff")
def status(day_id: int):
    """Running totals and the latest check-ins, for desks to stay in step."""
    day = _get_day_or_404(day_id)
    return jsonify(
        totals=desk_counts(day.id),
        recent=[_attendance_json(a) for a in recent_check_ins(day.id)],
    )
