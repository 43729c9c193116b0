from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.admin import bp
from crm.admin.forms import ReferenceItemForm, TownSettingsForm, UserForm
from crm.admin.services import ensure_settings, next_position
from crm.audit.services import record_event
from crm.auth.models import User
from crm.auth.passwords import password_problem
from crm.auth.permissions import requires_role
from crm.auth.services import (
    UserError,
    create_user,
    find_user_by_email,
    set_user_password,
)
from crm.events.models import Theme
from crm.extensions import db
from crm.supporters.models import RESIDENCES, Category, Channel
from crm.supporters.services import recompute_residences
from crm.templating import residence_label

# Categories and channels are edited with the same screens.
REFERENCE_LISTS = {
    "categories": (Category, _l("Relationship categories")),
    "channels": (Channel, _l("Channels")),
    "themes": (Theme, _l("Event themes")),
}


@bp.route("/")
@requires_role("admin")
def index():
    return render_template("admin/index.html")


@bp.route("/users")
@requires_role("admin")
def users():
    rows = db.session.scalars(select(User).order_by(User.active.desc(), User.email))
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@requires_role("admin")
def new_user():
    form = UserForm()
    if form.validate_on_submit():
        problem = form.password.data and password_problem(
            form.password.data, form.email.data
        )
        if not form.password.data:
            form.password.errors.append(_("Set a password for the new account."))
        elif problem:
            form.password.errors.append(problem)
        else:
            try:
                user = create_user(
                    form.email.data, form.name.data, form.role.data, form.password.data
                )
            except UserError:
                form.email.errors.append(
                    _("An account with this email already exists.")
                )
            else:
                user.active = form.active.data
                db.session.commit()
                flash(_("Account created."), "success")
                return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@requires_role("admin")
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        other = find_user_by_email(form.email.data)
        problem = form.password.data and password_problem(
            form.password.data, form.email.data
        )
        if other is not None and other.id != user.id:
            form.email.errors.append(_("An account with this email already exists."))
        elif problem:
            form.password.errors.append(problem)
        else:
            user.email = form.email.data.lower()
            user.name = form.name.data
            user.role = form.role.data
            user.active = form.active.data
            if form.password.data:  # checked above; every session of the user ends
                set_user_password(user, form.password.data)
            record_event(
                "update", "user", user.id, {"role": user.role, "active": user.active}
            )
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


def _reference(kind: str):
    if kind not in REFERENCE_LISTS:
        abort(404)
    return REFERENCE_LISTS[kind]


@bp.route("/lists/<kind>", methods=["GET", "POST"])
@requires_role("admin")
def reference_list(kind: str):
    model, title = _reference(kind)
    form = ReferenceItemForm()
    if form.validate_on_submit():
        if db.session.scalar(select(model).where(model.name == form.name.data)):
            form.name.errors.append(_("This name is already in the list."))
        else:
            item = model(name=form.name.data, position=form.position.data or next_position(model),
                         active=form.active.data)  # fmt: skip
            db.session.add(item)
            db.session.flush()
            record_event("create", model.__tablename__, item.id)
            db.session.commit()
            flash(_("Added."), "success")
            return redirect(url_for("admin.reference_list", kind=kind))
    items = db.session.scalars(select(model).order_by(model.position, model.id))
    return render_template(
        "admin/reference_list.html", kind=kind, title=title, items=items, form=form
    )


@bp.route("/lists/<kind>/<int:item_id>/edit", methods=["GET", "POST"])
@requires_role("admin")
def edit_reference_item(kind: str, item_id: int):
    model, title = _reference(kind)
    item = db.session.get(model, item_id) or abort(404)
    form = ReferenceItemForm(obj=item)
    if form.validate_on_submit():
        clash = db.session.scalar(
            select(model).where(model.name == form.name.data, model.id != item.id)
        )
        if clash:
            form.name.errors.append(_("This name is already in the list."))
        else:
            form.populate_obj(item)
            item.position = item.position or 0
            record_event("update", model.__tablename__, item.id)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.reference_list", kind=kind))
    return render_template(
        "admin/reference_item.html", kind=kind, title=title, item=item, form=form
    )


@bp.route("/settings", methods=["GET", "POST"])
@requires_role("admin")
def settings():
    town = ensure_settings()
    form = TownSettingsForm(obj=town)
    if form.validate_on_submit():
        place_changed = (town.prefecture, town.municipality_name) != (
            form.prefecture.data, form.municipality_name.data)  # fmt: skip
        form.populate_obj(town)
        record_event("update", "town_settings", town.id)
        if place_changed:
            recompute_residences()
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("admin.settings"))
    return render_template(
        "admin/settings.html",
        form=form,
        example=town.format_number(1),
        residence_labels=[residence_label(r) for r in RESIDENCES],
    )
