"""Printing cards and certificates, and the settings of what they say and show."""

import io
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from crm.admin.models import TownSettings
from crm.admin.services import ensure_settings, get_settings
from crm.audit.services import record_event
from crm.auth.permissions import requires_role
from crm.documents import bp
from crm.documents.forms import DocumentSettingsForm, ImageUploadForm
from crm.documents.images import ImageProblem, remove_image, save_image
from crm.documents.models import IMAGE_KINDS, DocumentImage
from crm.documents.placeholders import PLACEHOLDERS
from crm.documents.services import (
    card_offsets,
    fonts_missing_message,
    public_base_url_is_usable,
    public_base_url_message,
    record_issues,
    render_documents,
    sample_supporter,
    text_problem_message,
)
from crm.extensions import db
from crm.jobs.services import start_print_job
from crm.printing.business_card import render_calibration
from crm.printing.fonts import FontsMissing, font_set
from crm.printing.text import TextProblem
from crm.supporters.forms import ConfirmForm
from crm.supporters.queries import get_supporter_or_404, select_supporters
from crm.supporters.views import FILTER_KEYS, filters_from_request
from crm.timeutil import today_jst

# Up to this many documents come back at once; more are printed in the background
# (a progress page, then a download), up to MAX_PER_JOB; the CLI prints any number.
BACKGROUND_FROM = 300
MAX_PER_JOB = 20_000
LAYOUTS = {"card": ("sheet", "single"), "certificate": ("vertical", "horizontal")}
FILE_NAMES = {"card": "cards", "certificate": "certificates"}


def _selection():
    """The Likers to print for, and the page to go back to.

    One Liker (supporter_id), or the Likers list's filter (query) without the
    withdrawn, who get no documents.
    """
    if request.form.get("supporter_id", "").isdigit():
        supporter = get_supporter_or_404(int(request.form["supporter_id"]))
        back = url_for("supporters.show", supporter_id=supporter.id)
        return [supporter], back
    text = request.form.get("query", "")
    if len(text) > 4000:
        abort(400)  # never cut a filter in half: it would print other people
    query = MultiDict(
        (key, value) for key, value in parse_qsl(text) if key in FILTER_KEYS
    )
    back = url_for("supporters.index") + "?" + urlencode(list(query.items(multi=True)))
    filters = replace(filters_from_request(query), status="active")
    return select_supporters(filters, MAX_PER_JOB + 1), back


def _print(kind: str):
    layouts = LAYOUTS[kind]
    settings = get_settings()
    default = settings.certificate_layout if kind == "certificate" else layouts[0]
    layout = request.form.get("layout")
    layout = layout if layout in layouts else default
    supporters, back = _selection()
    supporters = [s for s in supporters if s.status == "active"]
    if not supporters:
        flash(_("Nobody to print for."), "warning")
        return redirect(back)
    if len(supporters) > MAX_PER_JOB:
        flash(
            _("More than %(count)s documents: narrow the selection (e.g. by date), "
              "or ask IT staff to print them with the command line.",
              count=f"{MAX_PER_JOB:,}"),
            "danger",
        )  # fmt: skip
        return redirect(back)
    base_url = current_app.config["PUBLIC_BASE_URL"]
    if not public_base_url_is_usable(base_url, current_app):
        flash(public_base_url_message(), "danger")
        return redirect(back)
    options = {
        "back": request.form.get("back") == "y",
        "crop_marks": request.form.get("crop_marks") == "y",
        # The form counts cells from 1, as staff do on the paper.
        "first_cell": max(request.form.get("first_cell", 1, type=int) - 1, 0),
        # Chosen on the warning page when no Japanese font is installed.
        "allow_cid": request.form.get("allow_cid") == "y",
    }
    record = request.form.get("record") == "y"
    if len(supporters) > BACKGROUND_FROM:
        job = start_print_job(
            kind, layout, [s.id for s in supporters], options, record, current_user
        )
        public_id = job.public_id
        db.session.commit()  # the job is queued by this commit
        return redirect(url_for("jobs.show", public_id=public_id))
    try:
        pdf = render_documents(
            kind,
            supporters,
            layout,
            settings,
            base_url,
            tuple(current_app.config["FONT_DIRS"]),
            options,
        )
    except FontsMissing:
        # The last resort, only when staff choose it knowing what it means.
        return render_template(
            "documents/fonts_missing.html",
            fields=[
                (k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"
            ],
            back=back,
        )
    except TextProblem as problem:
        flash(text_problem_message(problem), "danger")
        return redirect(back)
    if record:
        record_issues([s.id for s in supporters], kind, current_user)
    db.session.commit()
    name = f"{FILE_NAMES[kind]}-{today_jst():%Y%m%d}-{len(supporters)}.pdf"
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=name,
    )


@bp.route("/cards", methods=["POST"])
@requires_role("staff")
def cards():
    """A PDF of business cards: one Liker (supporter_id) or the list's selection."""
    return _print("card")


@bp.route("/certificates", methods=["POST"])
@requires_role("staff")
def certificates():
    """A PDF of certificates, one A4 page each, for one Liker or the selection."""
    return _print("certificate")


@bp.route("/calibration.pdf")
@requires_role("staff")
def calibration():
    """The card sheet's cell outlines with the current offsets, to check a printer."""
    try:
        fonts = font_set("gothic", tuple(current_app.config["FONT_DIRS"]))
    except FontsMissing:
        flash(fonts_missing_message(), "danger")
        return redirect(url_for("documents.settings"))
    pdf = render_calibration(fonts, card_offsets(get_settings()))
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", download_name="calibration.pdf"
    )


@bp.route("/settings", methods=["GET", "POST"])
@requires_role("admin")
def settings():
    """What the certificate and the card say, their images and printer offsets."""
    town = ensure_settings()
    form = DocumentSettingsForm(obj=town)
    if form.validate_on_submit():
        form.populate_obj(town)
        record_event("update", "town_settings", town.id, {"part": "documents"})
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("documents.settings"))
    return _settings_page(form)


def _settings_page(form, image_problem: dict | None = None):
    images = {
        image.kind: image for image in db.session.scalars(db.select(DocumentImage))
    }
    return render_template(
        "documents/settings.html",
        form=form,
        upload_form=ImageUploadForm(),
        confirm_form=ConfirmForm(),
        images=images,
        image_problem=image_problem,
        placeholders="、".join("{" + name + "}" for name in PLACEHOLDERS),
    )


@bp.route("/settings/preview/<kind>", methods=["POST"])
@requires_role("admin")
def preview(kind: str):
    """The document for a sample Liker with the texts as typed, before saving."""
    if kind not in LAYOUTS:
        abort(404)
    form = DocumentSettingsForm()
    if not form.validate_on_submit():
        # The page as typed, with the errors: this opens in its own tab.
        flash(_("Correct the settings first: the preview uses them."), "danger")
        return _settings_page(form)
    trial = TownSettings.with_defaults()
    saved = get_settings()
    for column in TownSettings.__table__.columns:
        setattr(trial, column.key, getattr(saved, column.key))
    form.populate_obj(trial)  # never added to the session: nothing is saved
    layout = request.form.get("layout")
    layout = layout if layout in LAYOUTS[kind] else LAYOUTS[kind][0]
    options = {"back": kind == "card", "crop_marks": False, "preview": True}
    try:
        pdf = render_documents(
            kind,
            [sample_supporter(trial)],
            layout,
            trial,
            current_app.config["PUBLIC_BASE_URL"],
            tuple(current_app.config["FONT_DIRS"]),
            options,
        )
    except FontsMissing:
        flash(fonts_missing_message(), "danger")
        return redirect(url_for("documents.settings"))
    except TextProblem as problem:
        flash(text_problem_message(problem), "danger")
        return redirect(url_for("documents.settings"))
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", download_name=f"preview-{kind}.pdf"
    )


IMAGE_PROBLEMS = {
    "too_big": lambda: _("The file is larger than 2 MB."),
    "not_an_image": lambda: _("The file is not an image that can be read."),
    "wrong_format": lambda: _("Only PNG and JPEG images can be used."),
    "too_many_pixels": lambda: _("The image is larger than 4000 pixels on a side."),
    "too_small": lambda: _("The image is too small to print (at least 32 pixels)."),
}


@bp.route("/images/<kind>", methods=["POST"])
@requires_role("admin")
def upload_image(kind: str):
    if kind not in IMAGE_KINDS:
        abort(404)
    form = ImageUploadForm()
    settings_form = DocumentSettingsForm(formdata=None, obj=ensure_settings())
    if not form.validate_on_submit():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        return _settings_page(settings_form, {"kind": kind, "message": message})
    try:
        save_image(kind, form.image.data.read(), current_user)
    except ImageProblem as problem:
        message = IMAGE_PROBLEMS[problem.code]()
        return _settings_page(settings_form, {"kind": kind, "message": message})
    db.session.commit()
    flash(_("Image saved."), "success")
    return redirect(url_for("documents.settings"))


@bp.route("/images/<kind>/delete", methods=["POST"])
@requires_role("admin")
def delete_image(kind: str):
    if kind not in IMAGE_KINDS or not ConfirmForm().validate_on_submit():
        abort(404)
    remove_image(kind, current_user)
    db.session.commit()
    flash(_("Image removed."), "success")
    return redirect(url_for("documents.settings"))


@bp.route("/images/<kind>.png")
@requires_role("staff")
def image(kind: str):
    found = db.session.get(DocumentImage, kind) if kind in IMAGE_KINDS else None
    if found is None:
        abort(404)
    return Response(found.content, mimetype="image/png")
