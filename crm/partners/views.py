from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from crm.auth.permissions import requires_role
from crm.events.models import Event, event_partners
from crm.extensions import db
from crm.partners import bp
from crm.partners.forms import PartnerForm, partner_kind_labels
from crm.partners.models import Partner
from crm.partners.services import save_partner


def _get_partner_or_404(partner_id: int) -> Partner:
    return db.session.get(Partner, partner_id) or abort(404)


def _name_taken(name: str, partner_id: int | None = None) -> bool:
    found = db.session.scalar(select(Partner.id).where(Partner.name == name))
    return found is not None and found != partner_id


@bp.route("/")
def index():
    event_count = (
        select(func.count())
        .select_from(event_partners)
        .where(event_partners.c.partner_id == Partner.id)
        .scalar_subquery()
    )
    partners = db.session.execute(
        select(Partner, event_count).order_by(Partner.name)
    ).all()
    return render_template(
        "partners/index.html", partners=partners, kinds=partner_kind_labels()
    )


@bp.route("/<int:partner_id>")
def show(partner_id: int):
    partner = _get_partner_or_404(partner_id)
    events = db.session.scalars(
        select(Event)
        .where(Event.partners.any(Partner.id == partner.id))
        .order_by(Event.first_day.desc(), Event.id.desc())
    )
    return render_template(
        "partners/show.html",
        partner=partner,
        events=events,
        kinds=partner_kind_labels(),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires_role("staff")
def new():
    return _edit(None)


@bp.route("/<int:partner_id>/edit", methods=["GET", "POST"])
@requires_role("staff")
def edit(partner_id: int):
    return _edit(_get_partner_or_404(partner_id))


def _edit(partner: Partner | None):
    form = PartnerForm(obj=partner)
    if form.validate_on_submit():
        if _name_taken(form.name.data, partner.id if partner else None):
            form.name.errors.append(_("This name is already in the list."))
        else:
            partner = save_partner(partner, form.to_data(), current_user)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("partners.show", partner_id=partner.id))
    return render_template("partners/form.html", form=form, partner=partner)
