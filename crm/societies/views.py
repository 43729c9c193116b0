from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm.auth.permissions import requires_role
from crm.events.queries import find_by_code
from crm.extensions import db
from crm.societies import bp
from crm.societies.forms import MembershipForm, SocietyForm, membership_role_labels
from crm.societies.models import Society
from crm.societies.queries import (
    get_society_or_404,
    list_members,
    list_societies,
    list_societies_with_counts,
)
from crm.societies.services import add_member, remove_member, save_society
from crm.supporters.forms import ConfirmForm
from crm.supporters.models import Supporter
from crm.supporters.queries import get_supporter_or_404


@bp.route("/")
def index():
    return render_template("societies/index.html", rows=list_societies_with_counts())


@bp.route("/<int:society_id>")
def show(society_id: int):
    society = get_society_or_404(society_id)
    return render_template(
        "societies/show.html",
        society=society,
        members=list_members(society.id),
        form=MembershipForm(),
        confirm_form=ConfirmForm(),
        roles=membership_role_labels(),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires_role("staff")
def new():
    return _edit(None)


@bp.route("/<int:society_id>/edit", methods=["GET", "POST"])
@requires_role("staff")
def edit(society_id: int):
    return _edit(get_society_or_404(society_id))


def _edit(society: Society | None):
    form = SocietyForm(obj=society)
    if form.validate_on_submit():
        other = db.session.scalar(
            select(Society.id).where(Society.name == form.name.data)
        )
        if other is not None and (society is None or other != society.id):
            form.name.errors.append(_("This name is already in the list."))
        else:
            society = save_society(society, form.to_data(), current_user)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("societies.show", society_id=society.id))
    return render_template("societies/form.html", form=form, society=society)


@bp.route("/<int:society_id>/members", methods=["POST"])
@requires_role("staff")
def add_member_by_number(society_id: int):
    """From the society's page: add a Liker by registration number."""
    society = get_society_or_404(society_id)
    form = MembershipForm()
    if form.validate_on_submit():
        supporter = find_by_code(form.registration_number.data or "").supporter
        if supporter is None:
            flash(_("No one has this registration number."), "danger")
        else:
            _add(society, supporter, form)
    else:
        flash(
            _("Please correct the fields marked in red. Nothing was saved yet."),
            "danger",
        )
    return redirect(url_for("societies.show", society_id=society.id))


@bp.route("/join", methods=["POST"])
@requires_role("staff")
def join():
    """From a Liker's page: choose a society."""
    form = MembershipForm(societies=list_societies())
    supporter = get_supporter_or_404(request.form.get("supporter_id", 0, type=int))
    if form.validate_on_submit() and form.society_id.data:
        _add(get_society_or_404(form.society_id.data), supporter, form)
    else:
        flash(_("Choose a hometown society."), "danger")
    return redirect(url_for("supporters.show", supporter_id=supporter.id))


def _add(society: Society, supporter: Supporter, form: MembershipForm) -> None:
    added = add_member(
        society, supporter.id, form.role.data, form.since.date, current_user
    )
    message = (
        _("%(name)s joined %(society)s.", name=supporter.full_name, society=society.name)
        if added
        else _("Updated %(name)s in %(society)s.", name=supporter.full_name, society=society.name)
    )  # fmt: skip
    db.session.commit()
    flash(message, "success")


@bp.route("/<int:society_id>/members/<int:supporter_id>/remove", methods=["POST"])
@requires_role("staff")
def remove_member_view(society_id: int, supporter_id: int):
    society = get_society_or_404(society_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    remove_member(society, supporter_id, current_user)
    db.session.commit()
    flash(_("Removed from %(society)s.", society=society.name), "success")
    if request.form.get("back") == "supporter":
        return redirect(url_for("supporters.show", supporter_id=supporter_id))
    return redirect(url_for("societies.show", society_id=society.id))
