from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField

from crm.audit.services import record_event
from crm.auth.permissions import requires_role
from crm.database import writes_data
from crm.documents.queries import issuances_of
from crm.events.forms import role_labels
from crm.events.models import Guest
from crm.events.queries import (
    find_by_code,
    list_recent_events,
    supporter_participations,
)
from crm.events.services import convert_guest
from crm.extensions import db
from crm.forms import choices
from crm.imports.duplicates import LIKELY as LIKELY_DUPLICATE
from crm.imports.duplicates import find_duplicates
from crm.japanese import without_control_characters
from crm.societies.forms import MembershipForm, membership_role_labels
from crm.societies.queries import list_memberships_of, list_societies
from crm.supporters import bp
from crm.supporters.forms import ConfirmForm, SupporterForm, WithdrawForm
from crm.supporters.merge import (
    MERGE_FIELDS,
    SIDES,
    MergeError,
    count_attached,
    default_choices,
    likely_duplicates,
    list_merged_from,
    merge_supporters,
)
from crm.supporters.models import RESIDENCES, STATUSES, Supporter
from crm.supporters.queries import (
    SORTS,
    SupporterFilter,
    get_supporter_or_404,
    list_categories,
    list_channels,
    list_supporters,
    surviving_supporter,
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
        merged_from=list_merged_from(supporter.id),
        merged_into=(
            surviving_supporter(supporter) if supporter.status == "merged" else None
        ),
    )


def _changeable_or_redirect(supporter_id: int) -> Supporter:
    """The Liker, unless merged into another: that record is kept as it was."""
    supporter = get_supporter_or_404(supporter_id)
    if supporter.status == "merged":
        flash(_("This record was merged into another: change that one."), "warning")
        abort(redirect(url_for("supporters.show", supporter_id=supporter.id)))
    if supporter.status == "erased":  # nothing personal may be written back
        flash(_("The personal data of this record was erased."), "warning")
        abort(redirect(url_for("supporters.show", supporter_id=supporter.id)))
    return supporter


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
    duplicates = []
    if form.validate_on_submit():
        data = form.to_data()
        # A likely duplicate is shown before saving; staff confirm it is someone else.
        if request.form.get("not_a_duplicate") != "y":
            duplicates = [
                m for m in find_duplicates([data])[0] if m.score >= LIKELY_DUPLICATE
            ]
        if not duplicates:
            supporter = register_supporter(data, current_user)
            if guest is not None:
                convert_guest(guest, supporter, current_user)
            db.session.commit()
            flash(
                _("Registered %(name)s as No. %(number)s.", name=supporter.full_name,
                  number=supporter.registration_number),
                "success",
            )  # fmt: skip
            return redirect(url_for("supporters.show", supporter_id=supporter.id))
    elif form.is_submitted():
        flash(
            _("Please correct the fields marked in red. Nothing was saved yet."),
            "danger",
        )
    return render_template(
        "supporters/form.html", form=form, supporter=None, duplicates=duplicates
    )


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
    supporter = _changeable_or_redirect(supporter_id)
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
    supporter = _changeable_or_redirect(supporter_id)
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
    supporter = _changeable_or_redirect(supporter_id)
    if ConfirmForm().validate_on_submit():
        reinstate_supporter(supporter, current_user)
        db.session.commit()
        flash(_("%(name)s is active again.", name=supporter.full_name), "success")
    return redirect(url_for("supporters.show", supporter_id=supporter.id))


@bp.route("/<int:supporter_id>/reissue-token", methods=["POST"])
@requires_role("staff")
def reissue_token(supporter_id: int):
    """For a lost or misused card: the old QR code stops working."""
    supporter = _changeable_or_redirect(supporter_id)
    if ConfirmForm().validate_on_submit():
        reissue_public_token(supporter, current_user)
        db.session.commit()
        flash(
            _("A new QR code was issued. Cards printed before no longer work: "
              "print a new card."),
            "success",
        )  # fmt: skip
    return redirect(url_for("supporters.show", supporter_id=supporter.id))


# --- merging two records of the same person -----------------------------------

# Per field, whose value stays: the survivor's (this record) or the other's.
MergeForm = type(
    "MergeForm",
    (FlaskForm,),
    {name: RadioField(choices=choices((s, s) for s in SIDES)) for name in MERGE_FIELDS},
)


def _mergeable_or_redirect(supporter_id: int):
    """The Liker, or a redirect to their page when they were merged away."""
    supporter = get_supporter_or_404(supporter_id)
    if supporter.status == "merged":
        flash(_("This record was merged into another one."), "warning")
        return None, redirect(url_for("supporters.show", supporter_id=supporter.id))
    return supporter, None


@bp.route("/<int:supporter_id>/merge")
@requires_role("staff")
def merge(supporter_id: int):
    """Step one: find the other record, by number or among likely duplicates."""
    supporter, elsewhere = _mergeable_or_redirect(supporter_id)
    if elsewhere:
        return elsewhere
    number = without_control_characters(request.args.get("number", ""))[:40]
    if number.strip():
        other = find_by_code(number).supporter
        if other is not None and other.id != supporter.id:
            return redirect(
                url_for("supporters.merge_with", supporter_id=supporter.id,
                        other_id=other.id)
            )  # fmt: skip
        flash(
            _("This is the same record.") if other
            else _("No record has the number %(number)s.", number=number),
            "danger",
        )  # fmt: skip
    return render_template(
        "supporters/merge_choose.html",
        supporter=supporter,
        number=number,
        duplicates=likely_duplicates(supporter),
    )


@bp.route("/<int:supporter_id>/merge/<int:other_id>", methods=["GET", "POST"])
@requires_role("staff")
@writes_data
def merge_with(supporter_id: int, other_id: int):
    """Step two: both records side by side, a choice per field, then the merge."""
    survivor, elsewhere = _mergeable_or_redirect(supporter_id)
    if elsewhere:
        return elsewhere
    merged, elsewhere = _mergeable_or_redirect(other_id)
    if elsewhere:
        return elsewhere
    if survivor.id == merged.id:
        flash(_("This is the same record."), "danger")
        return redirect(url_for("supporters.merge", supporter_id=survivor.id))
    if request.method == "GET":
        form = MergeForm(data=default_choices(survivor, merged))
    else:  # every field must be answered: nothing is merged by default
        form = MergeForm()
    if form.validate_on_submit():
        chosen = {name: form[name].data for name in MERGE_FIELDS}
        try:
            merge_supporters(survivor, merged, chosen, current_user)
        except MergeError:  # the other was merged away meanwhile
            db.session.rollback()
            flash(_("One of the records was merged meanwhile."), "danger")
            return redirect(url_for("supporters.show", supporter_id=supporter_id))
        db.session.commit()
        flash(
            _("%(merged)s was merged into %(number)s.",
              merged=merged.registration_number, number=survivor.registration_number),
            "success",
        )  # fmt: skip
        return redirect(url_for("supporters.show", supporter_id=survivor.id))
    if form.is_submitted():
        flash(_("Choose a value for every field. Nothing was merged yet."), "danger")
    for record in (survivor, merged):
        record_event("view", "supporter", record.id)
    db.session.commit()
    return render_template(
        "supporters/merge.html",
        survivor=survivor,
        merged=merged,
        form=form,
        counts={s.id: count_attached(s.id) for s in (survivor, merged)},
        societies={s.id: s.name for s in list_societies()},
    )
