from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.audit.services import record_event
from crm.auth.permissions import requires_role
from crm.database import writes_data
from crm.documents.queries import issuances_of
from crm.events.forms import role_labels
from crm.events.models import Guest
from crm.events.queries import list_recent_events, supporter_participations
from crm.events.services import convert_guest
from crm.extensions import db
from crm.japanese import without_control_characters
from crm.societies.forms import MembershipForm, membership_role_labels
from crm.societies.queries import list_memberships_of, list_societies
from crm.supporters import bp
from crm.supporters.forms import ConfirmForm, SupporterForm, WithdrawForm
from crm.supporters.models import RESIDENCES, STATUSES
from crm.supporters.queries import (
    SORTS,
    SupporterFilter,
    get_supporter_or_404,
    list_categories,
    list_channels,
    list_supporters,
)
from crm.supporters.services import (
    register_supporter,
    reinstate_supporter,
    reissue_public_token,
    update_supporter,
    withdraw_supporter,
)

STATUS_CHOICES = (*STATUSES, "all")


def _date_arg(args, name: str) -> date | None:
    try:
        return date.fromisoformat(args.get(name, ""))
    except ValueError:
        return None


ISSUED_CHOICES = ("issued", "not_issued")
# The query-string keys of the list's filters (and nothing else).
FILTER_KEYS = (
    "q", "category", "residence", "status", "from", "to", "event", "attended_from",
    "attended_to", "society", "card", "certificate", "sort",
)  # fmt: skip


def filters_from_request(args=None) -> SupporterFilter:
    """The list's filters from the query string (or another MultiDict of them)."""
    args = request.args if args is None else args
    return SupporterFilter(
        q=without_control_characters(args.get("q", ""))[:100],
        category_ids=[int(v) for v in args.getlist("category") if v.isdigit()],
        residences=[v for v in args.getlist("residence") if v in RESIDENCES],
        status=args.get("status") if args.get("status") in STATUS_CHOICES else "active",
        registered_from=_date_arg(args, "from"),
        registered_to=_date_arg(args, "to"),
        event_id=args.get("event", type=int),
        attended_from=_date_arg(args, "attended_from"),
        attended_to=_date_arg(args, "attended_to"),
        society_id=args.get("society", type=int),
        card=args.get("card") if args.get("card") in ISSUED_CHOICES else "",
        certificate=(
            args.get("certificate")
            if args.get("certificate") in ISSUED_CHOICES else ""
        ),
        sort=args.get("sort") if args.get("sort") in SORTS else "kana",
    )  # fmt: skip


@bp.route("/")
def index():
    filters = filters_from_request()
    page = request.args.get("page", 1, type=int)
    pagination = list_supporters(filters, max(page, 1), current_app.config["PAGE_SIZE"])
    return render_template(
        "supporters/index.html",
        pagination=pagination,
        filters=filters,
        categories=list_categories(),
        residences=RESIDENCES,
        events=list_recent_events(),
        societies=list_societies(),
    )


@bp.route("/<int:supporter_id>")
@writes_data
def show(supporter_id: int):
    supporter = get_supporter_or_404(supporter_id)
    record_event("view", "supporter", supporter.id)
    db.session.commit()
    societies = list_societies()
    return render_template(
        "supporters/show.html",
        supporter=supporter,
        confirm_form=ConfirmForm(),
        participations=supporter_participations(supporter.id),
        memberships=list_memberships_of(supporter.id),
        issuances=issuances_of(supporter.id),
        membership_form=MembershipForm(societies=societies),
        referral_society=next(
            (s for s in societies if s.id == supporter.referral_society_id), None
        ),
        roles=role_labels(),
        membership_roles=membership_role_labels(),
    )


def _supporter_form(**kwargs) -> SupporterForm:
    return SupporterForm(
        categories=list_categories(active_only=True),
        channels=list_channels(active_only=True),
        societies=list_societies(),
        **kwargs,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires_role("staff")
def new():
    form = _supporter_form()
    guest = _guest_from_request()
    if guest is not None and not form.is_submitted():
        family, _space, given = guest.name.replace("\u3000", " ").partition(" ")
        form.family_name.data, form.given_name.data = family, given.strip()
        kana_family, _space, kana_given = (
            (guest.name_kana or "").replace("\u3000", " ").partition(" ")
        )
        form.family_name_kana.data = kana_family
        form.given_name_kana.data = kana_given.strip()
    if form.validate_on_submit():
        supporter = register_supporter(form.to_data(), current_user)
        if guest is not None:
            convert_guest(guest, supporter, current_user)
        db.session.commit()
        flash(
            _("Registered %(name)s as No. %(number)s.", name=supporter.full_name,
              number=supporter.registration_number),
            "success",
        )  # fmt: skip
        return redirect(url_for("supporters.show", supporter_id=supporter.id))
    if form.is_submitted():
        flash(
            _("Please correct the fields marked in red. Nothing was saved yet."),
            "danger",
        )
    return render_template("supporters/form.html", form=form, supporter=None)


def _guest_from_request():
    """A guest written down by name at an event, now registering (?guest=ID)."""
    guest_id = request.args.get("guest", type=int)
    if guest_id is None:
        return None
    guest = db.get_or_404(Guest, guest_id)
    return None if guest.supporter_id else guest


@bp.route("/<int:supporter_id>/edit", methods=["GET", "POST"])
@requires_role("staff")
def edit(supporter_id: int):
    supporter = get_supporter_or_404(supporter_id)
    form = _supporter_form(obj=supporter, creating=False)
    if request.method == "GET":
        form.category_ids.data = [c.id for c in supporter.categories]
        form.channel_id.data = supporter.channel_id or 0
        form.referral_society_id.data = supporter.referral_society_id or 0
        form.tags.data = ", ".join(t.name for t in supporter.tags)
    if form.validate_on_submit():
        changed = update_supporter(supporter, form.to_data(), current_user)
        db.session.commit()
        flash(_("Saved.") if changed else _("Nothing was changed."), "success")
        return redirect(url_for("supporters.show", supporter_id=supporter.id))
    if form.is_submitted():
        flash(
            _("Please correct the fields marked in red. Nothing was saved yet."),
            "danger",
        )
    return render_template("supporters/form.html", form=form, supporter=supporter)


@bp.route("/<int:supporter_id>/withdraw", methods=["GET", "POST"])
@requires_role("staff")
def withdraw(supporter_id: int):
    supporter = get_supporter_or_404(supporter_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        withdraw_supporter(
            supporter, form.withdrawn_on.data, form.reason.data or None, current_user
        )
        db.session.commit()
        flash(_("%(name)s has been withdrawn.", name=supporter.full_name), "success")
        return redirect(url_for("supporters.show", supporter_id=supporter.id))
    return render_template("supporters/withdraw.html", form=form, supporter=supporter)


@bp.route("/<int:supporter_id>/reinstate", methods=["POST"])
@requires_role("staff")
def reinstate(supporter_id: int):
    supporter = get_supporter_or_404(supporter_id)
    if ConfirmForm().validate_on_submit():
        reinstate_supporter(supporter, current_user)
        db.session.commit()
        flash(_("%(name)s is active again.", name=supporter.full_name), "success")
    return redirect(url_for("supporters.show", supporter_id=supporter.id))


@bp.route("/<int:supporter_id>/reissue-token", methods=["POST"])
@requires_role("staff")
def reissue_token(supporter_id: int):
    """For a lost or misused card: the old QR code stops working."""
    supporter = get_supporter_or_404(supporter_id)
    if ConfirmForm().validate_on_submit():
        reissue_public_token(supporter, current_user)
        db.session.commit()
        flash(
            _("A new QR code was issued. Cards printed before no longer work: "
              "print a new card."),
            "success",
        )  # fmt: skip
    return redirect(url_for("supporters.show", supporter_id=supporter.id))
