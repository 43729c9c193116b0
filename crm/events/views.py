from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.permissions import requires_role
from crm.auth.views import safe_next
from crm.events import bp
from crm.events.forms import (
    EVENT_STATUSES,
    EventForm,
    GuestForm,
    RoleForm,
    WalkInForm,
    group_labels,
    kind_labels,
    location_labels,
    role_labels,
    status_labels,
)
from crm.events.models import Attendance, Guest
from crm.events.queries import (
    EventFilter,
    compute_totals,
    day_roster,
    desk_counts,
    get_day_or_404,
    get_event_or_404,
    list_events,
    list_guests,
    list_themes,
    walk_in_counts,
)
from crm.events.services import (
    EventError,
    add_guest,
    change_role,
    delete_event,
    remove_guest,
    save_event,
    set_walk_ins,
    undo_check_in,
)
from crm.extensions import db
from crm.japanese import without_control_characters
from crm.partners.models import Partner
from crm.supporters.forms import ConfirmForm
from crm.timeutil import today_jst


def labels() -> dict:
    return {
        "kinds": kind_labels(), "statuses": status_labels(),
        "locations": location_labels(), "roles": role_labels(),
        "groups": group_labels(),
    }  # fmt: skip


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@bp.route("/")
def index():
    args = request.args
    filters = EventFilter(
        q=without_control_characters(args.get("q", ""))[:100],
        status=args.get("status") if args.get("status") in EVENT_STATUSES else "",
        theme_id=args.get("theme", type=int),
        when=args.get("when") if args.get("when") in ("upcoming", "past") else "all",
    )
    pagination = list_events(
        filters, max(args.get("page", 1, type=int), 1), current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "events/index.html",
        pagination=pagination,
        filters=filters,
        themes=list_themes(),
        today=today_jst(),
        **labels(),
    )


@bp.route("/<int:event_id>")
def show(event_id: int):
    event = get_event_or_404(event_id)
    days = [
        {
            "day": day,
            "roster": day_roster(day.id),
            "totals": compute_totals(day_id=day.id),
            "walk_ins": walk_in_counts(day.id),
        }
        for day in event.days
    ]
    return render_template(
        "events/show.html",
        event=event,
        days=days,
        guests=list_guests([day.id for day in event.days]),
        totals=compute_totals(event_id=event.id),
        confirm_form=ConfirmForm(),
        guest_form=GuestForm(),
        role_form=RoleForm(),
        walk_in_form=WalkInForm(),
        today=today_jst(),
        **labels(),
    )


def _event_form(event=None, **kwargs) -> EventForm:
    # A theme switched off later still shows on the events that have it.
    themes = [
        t for t in list_themes() if t.active or (event and t.id == event.theme_id)
    ]
    return EventForm(
        themes=themes,
        partners=db.session.scalars(db.select(Partner).order_by(Partner.name)),
        **kwargs,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires_role("staff")
def new():
    form = _event_form()
    if request.method == "GET" and not form.dates.data:
        form.dates.data = today_jst().isoformat()
    return _save(None, form)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@requires_role("staff")
def edit(event_id: int):
    event = get_event_or_404(event_id)
    form = _event_form(event, obj=event)
    if request.method == "GET":
        form.dates.data = "\n".join(d.day.isoformat() for d in event.days)
        form.theme_id.data = event.theme_id or 0
        form.partner_ids.data = [p.id for p in event.partners]
    return _save(event, form)


def _save(event, form: EventForm):
    if form.validate_on_submit():
        try:
            event = save_event(event, form.to_data(), current_user)
        except EventError as error:
            db.session.rollback()
            form.dates.errors.append(
                _("%(day)s already has check-ins or guests, so it cannot be removed.",
                  day=str(error))
            )  # fmt: skip
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("events.show", event_id=event.id))
    if form.is_submitted():
        flash(
            _("Please correct the fields marked in red. Nothing was saved yet."),
            "danger",
        )
    return render_template(
        "events/form.html", form=form, event=event, delete_form=ConfirmForm()
    )


@bp.route("/<int:event_id>/delete", methods=["POST"])
@requires_role("staff")
def delete(event_id: int):
    event = get_event_or_404(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        delete_event(event, current_user)
    except EventError:
        db.session.rollback()
        flash(
            _("This event has attendance records, so it cannot be deleted. "
              "Set its status to cancelled instead."),
            "danger",
        )  # fmt: skip
        return redirect(url_for("events.show", event_id=event_id))
    db.session.commit()
    flash(_("Deleted %(title)s.", title=event.title), "success")
    return redirect(url_for("events.index"))


@bp.route("/<int:event_id>/days/<int:day_id>/sheet")
def sheet(event_id: int, day_id: int):
    """A printable attendance sheet, for the day the network fails."""
    day = get_day_or_404(event_id, day_id)
    rows = request.args.get("rows", 25, type=int)
    return render_template(
        "events/sheet.html", day=day, event=day.event, rows=max(5, min(rows, 200))
    )


@bp.route("/<int:event_id>/days/<int:day_id>/walk-ins", methods=["POST"])
@requires_role("staff")
def walk_ins(event_id: int, day_id: int):
    day = get_day_or_404(event_id, day_id)
    form = WalkInForm()
    if form.validate_on_submit():
        for group, count in form.changed_counts().items():
            set_walk_ins(day, group, count, current_user)
        db.session.commit()
        flash(_("Saved."), "success")
    else:
        flash(_("Enter the counts as whole numbers from 0."), "danger")
    return redirect(url_for("events.show", event_id=event_id, _anchor=f"day-{day.id}"))


@bp.route("/<int:event_id>/days/<int:day_id>/guests", methods=["POST"])
@requires_role("staff")
def new_guest(event_id: int, day_id: int):
    day = get_day_or_404(event_id, day_id)
    form = GuestForm()
    if form.validate_on_submit():
        add_guest(
            day, form.group.data, form.name.data, form.name_kana.data or None,
            form.contact.data or None, form.notes.data or None, current_user,
        )  # fmt: skip
        db.session.commit()
        flash(_("Added %(name)s.", name=form.name.data), "success")
    else:
        flash(_("Enter the guest's name."), "danger")
    return redirect(url_for("events.show", event_id=event_id, _anchor=f"day-{day.id}"))


@bp.route("/<int:event_id>/guests/<int:guest_id>/delete", methods=["POST"])
@requires_role("staff")
def delete_guest(event_id: int, guest_id: int):
    guest = db.get_or_404(Guest, guest_id)
    get_day_or_404(event_id, guest.event_day_id)
    if ConfirmForm().validate_on_submit():
        remove_guest(guest, current_user)
        db.session.commit()
        flash(_("Removed."), "success")
    return redirect(url_for("events.show", event_id=event_id))


def _attendance_or_404(event_id: int, attendance_id: int) -> Attendance:
    attendance = db.get_or_404(Attendance, attendance_id)
    get_day_or_404(event_id, attendance.event_day_id)
    return attendance


@bp.route("/<int:event_id>/attendances/<int:attendance_id>/undo", methods=["POST"])
@requires_role("staff")
def undo(event_id: int, attendance_id: int):
    attendance = _attendance_or_404(event_id, attendance_id)
    day_id = attendance.event_day_id
    message = _("Check-in of %(name)s was undone.", name=attendance.supporter.full_name)
    undo_check_in(attendance, current_user)
    if wants_json():
        body = {"message": message, "totals": desk_counts(day_id)}
        db.session.commit()
        return jsonify(body)
    db.session.commit()
    flash(message, "success")
    if request.form.get("next"):
        return redirect(safe_next(request.form["next"]))
    return redirect(url_for("events.show", event_id=event_id))


@bp.route("/<int:event_id>/attendances/<int:attendance_id>/role", methods=["POST"])
@requires_role("staff")
def attendance_role(event_id: int, attendance_id: int):
    attendance = _attendance_or_404(event_id, attendance_id)
    form = RoleForm()
    if form.validate_on_submit():
        change_role(attendance, form.role.data, current_user)
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(
        url_for(
            "events.show", event_id=event_id, _anchor=f"day-{attendance.event_day_id}"
        )
    )
