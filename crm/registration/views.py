"""Public self-registration pages and the staff pages that go with them."""

import io

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm.admin.services import get_settings
from crm.auth.permissions import public, requires_role
from crm.consents.services import WITHDRAWABLE, ConsentError, withdraw_consent
from crm.database import writes_data
from crm.documents.services import (
    fonts_missing_message,
    public_base_url_is_usable,
    public_base_url_message,
    text_problem_message,
)
from crm.events.models import Event
from crm.extensions import db
from crm.postal.views import lookup_postal_code
from crm.printing.fonts import FontsMissing
from crm.printing.text import TextProblem
from crm.registration import bp
from crm.registration.forms import RegistrationForm
from crm.registration.models import Registration
from crm.registration.poster import render_poster
from crm.registration.services import (
    AlreadySubmitted,
    ReviewError,
    approve,
    event_link,
    find_event_link,
    introducer_for,
    merge_registration,
    new_event_link,
    new_submission_key,
    pending_registrations,
    register_publicly,
    reject,
    revoke_event_link,
    setting,
    take_rate_slot,
)
from crm.supporters.forms import ConfirmForm
from crm.supporters.merge import likely_duplicates
from crm.supporters.models import Supporter
from crm.supporters.queries import get_supporter_or_404, list_categories, list_channels

# Not kept by browsers or proxies, not listed by search engines.
PRIVATE_PAGE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
SESSION_KEY = "registered_id"


def _form() -> RegistrationForm:
    return RegistrationForm(
        categories=list_categories(active_only=True),
        channels=list_channels(active_only=True),
    )


def _public_url(endpoint: str, **values) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return base.rstrip("/") + url_for(endpoint, **values)


def _registration_page(link=None):
    """The form (GET) and its submission (POST), for the general or an event link."""
    form = _form()
    if not form.is_submitted():
        form.submission_key.data = new_submission_key()
        form.ref.data = (request.args.get("ref") or "")[:40]
    status = 200
    if form.validate_on_submit():
        if form.website.data:  # the honeypot: answer as if saved, save nothing
            return render_template(
                "registration/done.html", registration=None
            ), PRIVATE_PAGE
        bucket, limit = (
            (f"event:{link.event_id}", setting("EVENT_REGISTRATION_RATE_LIMIT"))
            if link else ("join", setting("REGISTRATION_RATE_LIMIT"))
        )  # fmt: skip
        if not take_rate_slot(
            bucket, request.remote_addr, limit, setting("REGISTRATION_RATE_WINDOW")
        ):
            db.session.commit()  # the count holds
            flash(
                _("Too many registrations came from this network just now. "
                  "Please wait a few minutes and send the form again."),
                "danger",
            )  # fmt: skip
            status = 429
        else:
            try:
                outcome = register_publicly(
                    form.to_data(), form.submission_key.data, form.ref.data, link
                )
            except AlreadySubmitted as already:
                db.session.rollback()
                known = already.registration
                if known is not None and session.get(SESSION_KEY) == known.id:
                    return redirect(url_for(".done"))
                return render_template(
                    "registration/done.html", registration=None, already=True
                ), PRIVATE_PAGE
            db.session.commit()
            session[SESSION_KEY] = outcome.registration.id
            return redirect(url_for(".done"))
    elif form.is_submitted():
        flash(
            _("Please correct the fields marked in red. Nothing was saved yet."),
            "danger",
        )
        status = 422
    return (
        render_template(
            "registration/form.html",
            form=form,
            link=link,
            event=link.event if link else None,
            introducer=introducer_for(form.ref.data),
            settings=get_settings(),
        ),
        status,
        PRIVATE_PAGE,
    )


@bp.route("/join", methods=["GET", "POST"])
@public
def join():
    return _registration_page()


@bp.route("/join/e/<token>", methods=["GET", "POST"])
@public
def join_event(token: str):
    link = find_event_link(token)
    if link is None:
        return render_template("registration/invalid.html"), 404, PRIVATE_PAGE
    return _registration_page(link)


@bp.route("/join/done")
@public
def done():
    """The confirmation: the registration number, for this browser only."""
    registration_id = session.get(SESSION_KEY)
    registration = (
        db.session.get(Registration, registration_id) if registration_id else None
    )
    if registration is None:
        return redirect(url_for(".join"))
    return render_template(
        "registration/done.html", registration=registration
    ), PRIVATE_PAGE


@bp.route("/join/postal/<code>")
@public
def postal_lookup(code: str):
    """The public form's postal-code lookup (offline data, no personal data)."""
    found = lookup_postal_code(code[:10])
    if found is None:
        return jsonify({"error": "not_found"}), 404
    return jsonify(found)


# --- staff: the review queue ------------------------------------------------------------


@bp.route("/registrations/")
@requires_role("staff")
def queue():
    pending = pending_registrations()
    return render_template(
        "registration/queue.html",
        pending=pending,
        duplicates={r.id: _candidates(r.supporter) for r in pending},
        form=ConfirmForm(),
        settings=get_settings(),
    )


def _candidates(supporter: Supporter) -> list[Supporter]:
    ids = [m.supporter_id for m in likely_duplicates(supporter)]
    if not ids:
        return []
    found = db.session.scalars(
        select(Supporter).where(
            Supporter.id.in_(ids), Supporter.status.in_(("active", "withdrawn"))
        )
    ).all()
    return sorted(found, key=lambda s: ids.index(s.id))


def _pending_or_404(registration_id: int) -> Registration:
    return db.get_or_404(Registration, registration_id)


def _reviewed_redirect():
    return redirect(url_for(".queue"))


@bp.route("/registrations/<int:registration_id>/approve", methods=["POST"])
@requires_role("staff")
def approve_view(registration_id: int):
    registration = _pending_or_404(registration_id)
    if ConfirmForm().validate_on_submit():
        try:
            supporter = approve(registration, current_user)
        except ReviewError:
            db.session.rollback()
            flash(_("This registration was already dealt with."), "warning")
            return _reviewed_redirect()
        db.session.commit()
        flash(_("%(name)s is now registered.", name=supporter.full_name), "success")
    return _reviewed_redirect()


@bp.route("/registrations/<int:registration_id>/reject", methods=["POST"])
@requires_role("staff")
def reject_view(registration_id: int):
    registration = _pending_or_404(registration_id)
    if ConfirmForm().validate_on_submit():
        try:
            reject(registration, current_user)
        except ReviewError:
            db.session.rollback()
            flash(_("This registration was already dealt with."), "warning")
            return _reviewed_redirect()
        db.session.commit()
        flash(_("The registration was rejected."), "success")
    return _reviewed_redirect()


@bp.route(
    "/registrations/<int:registration_id>/merge/<int:supporter_id>", methods=["POST"]
)
@requires_role("staff")
def merge_view(registration_id: int, supporter_id: int):
    registration = _pending_or_404(registration_id)
    existing = get_supporter_or_404(supporter_id)
    if ConfirmForm().validate_on_submit():
        try:
            survivor = merge_registration(registration, existing, current_user)
        except ReviewError:
            db.session.rollback()
            flash(_("This registration was already dealt with."), "warning")
            return _reviewed_redirect()
        db.session.commit()
        flash(
            _("Merged into %(number)s.", number=survivor.registration_number), "success"
        )
    return _reviewed_redirect()


# --- staff: an event's registration link and poster -------------------------------------


@bp.route("/registrations/events/<int:event_id>")
@requires_role("staff")
def event_link_page(event_id: int):
    event = db.get_or_404(Event, event_id)
    link = event_link(event)
    return render_template(
        "registration/event_link.html",
        event=event,
        link=link,
        url=_public_url(".join_event", token=link.token) if link else None,
        form=ConfirmForm(),
    )


@bp.route("/registrations/events/<int:event_id>/link", methods=["POST"])
@requires_role("staff")
def renew_link(event_id: int):
    event = db.get_or_404(Event, event_id)
    if ConfirmForm().validate_on_submit():
        revoking = request.form.get("action") == "revoke"
        if revoking:
            revoke_event_link(event, current_user)
        else:
            new_event_link(event, current_user)
        db.session.commit()
        flash(
            _("The registration link was stopped. Posters printed so far no longer work.")
            if revoking else _("A new registration link was made."),
            "success",
        )  # fmt: skip
    return redirect(url_for(".event_link_page", event_id=event.id))


@bp.route("/registrations/events/<int:event_id>/poster.pdf")
@requires_role("staff")
def poster(event_id: int):
    event = db.get_or_404(Event, event_id)
    link = event_link(event)
    if link is None:
        abort(404)
    url = _public_url(".join_event", token=link.token)
    if not public_base_url_is_usable(url, current_app):  # as for the cards' codes
        flash(public_base_url_message(), "danger")
        return redirect(url_for(".event_link_page", event_id=event.id))
    days = "・".join(f"{d.day.month}月{d.day.day}日" for d in event.days[:5])
    try:
        pdf = render_poster(
            url,
            get_settings().programme_name,
            event.title,
            days,
            tuple(current_app.config.get("FONT_DIRS") or ()),
        )
    except FontsMissing:
        flash(fonts_missing_message(), "danger")
        return redirect(url_for(".event_link_page", event_id=event.id))
    except TextProblem as problem:
        flash(text_problem_message(problem), "danger")
        return redirect(url_for(".event_link_page", event_id=event.id))
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        download_name=f"registration-poster-{event.id}.pdf",
    )


# --- staff: withdrawing a consent on the Liker page ---------------------------------------


@bp.route("/likers/<int:supporter_id>/consents/<kind>/withdraw", methods=["POST"])
@requires_role("staff")
@writes_data
def withdraw_consent_view(supporter_id: int, kind: str):
    supporter = get_supporter_or_404(supporter_id)
    if kind not in WITHDRAWABLE:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            withdraw_consent(supporter, kind, current_user)
        except ConsentError:
            db.session.rollback()
            flash(_("This consent was not given."), "warning")
        else:
            db.session.commit()
            flash(_("The consent was withdrawn. It applies from now on."), "success")
    return redirect(url_for("supporters.show", supporter_id=supporter.id))


@bp.app_template_global()
def liker_registration_facts(supporter: Supporter) -> dict:
    """For the staff Liker page: consent history, who introduced, how registered."""
    from crm.consents.services import consents_of, current_consents

    return {
        "consents": list(reversed(consents_of(supporter.id))),
        "current": current_consents(supporter.id),
        "withdrawable": WITHDRAWABLE,
        "introduced_by": (
            db.session.get(Supporter, supporter.introduced_by_id)
            if supporter.introduced_by_id else None
        ),
        "registration": db.session.scalar(
            select(Registration).where(Registration.supporter_id == supporter.id)
        ),
        "form": ConfirmForm(),
    }  # fmt: skip
