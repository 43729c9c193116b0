"""The Liker page's buttons for the person's rights: thin views over the services.

Who may: the disclosure package and erasure are for administrators (the package
is the most complete extract of one person's data, with the trail of which staff
account did what; both answer a formal request decided by the responsible
official), stopping and resuming use for staff, who act on a request at once.
"""

import io
import json

from flask import (
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
from sqlalchemy import select

from crm.admin.services import get_settings
from crm.audit.services import record_event
from crm.auth.permissions import requires_role
from crm.extensions import db
from crm.printing.fonts import FontsMissing, font_set
from crm.printing.text import TextProblem
from crm.rights import bp
from crm.rights.corrections import list_corrections
from crm.rights.document import CORRECTION_LABELS, TITLE, package_blocks
from crm.rights.forms import EraseForm
from crm.rights.package import disclosure_package, package_filename
from crm.rights.pdf import render_blocks
from crm.rights.services import RightsError, erase, resume_use, stop_use
from crm.supporters.forms import ConfirmForm
from crm.supporters.models import Supporter
from crm.supporters.queries import get_supporter_or_404


def _back(supporter_id: int):
    return redirect(url_for("supporters.show", supporter_id=supporter_id))


@bp.route("/<int:supporter_id>/disclosure.<any(json, pdf):fmt>", methods=["POST"])
@requires_role("admin")
def disclosure(supporter_id: int, fmt: str):
    """本人開示: the whole record as JSON or a readable PDF (audited, no data)."""
    supporter = get_supporter_or_404(supporter_id)
    if not ConfirmForm().validate_on_submit():
        return _back(supporter.id)
    package = disclosure_package(supporter)
    if fmt == "json":
        body = json.dumps(package, ensure_ascii=False, indent=2).encode()
        mimetype = "application/json"
    else:
        try:
            fonts = font_set("gothic", tuple(current_app.config["FONT_DIRS"]))
            body = render_blocks(
                package_blocks(package, get_settings().municipality_name),
                fonts, TITLE, supporter.registration_number,
            )  # fmt: skip
        except (FontsMissing, TextProblem) as problem:
            flash(_("The PDF could not be made: %(problem)s", problem=str(problem)),
                  "danger")  # fmt: skip
            return _back(supporter.id)
        mimetype = "application/pdf"
    record_event("disclose", "supporter", supporter.id, {"format": fmt})
    db.session.commit()
    return send_file(
        io.BytesIO(body), mimetype=mimetype, as_attachment=True,
        download_name=package_filename(supporter, fmt),
    )  # fmt: skip


@bp.route("/<int:supporter_id>/stop-use", methods=["POST"])
@requires_role("staff")
def stop(supporter_id: int):
    supporter = get_supporter_or_404(supporter_id)
    if ConfirmForm().validate_on_submit():
        try:
            stop_use(supporter, current_user)
        except RightsError:
            flash(_("The use of this record cannot be stopped."), "danger")
            return _back(supporter.id)
        db.session.commit()
        flash(_("Use stopped: %(number)s is now in no list, export or print.",
                number=supporter.registration_number), "success")  # fmt: skip
    return _back(supporter.id)


@bp.route("/<int:supporter_id>/resume-use", methods=["POST"])
@requires_role("staff")
def resume(supporter_id: int):
    supporter = get_supporter_or_404(supporter_id)
    if ConfirmForm().validate_on_submit():
        try:
            resume_use(supporter, current_user)
        except RightsError:
            flash(_("The use of this record cannot be resumed."), "danger")
            return _back(supporter.id)
        db.session.commit()
        flash(_("Use resumed."), "success")
    return _back(supporter.id)


@bp.route("/<int:supporter_id>/erase", methods=["GET", "POST"])
@requires_role("admin")
def erase_data(supporter_id: int):
    """消去, after the registration number is typed again."""
    supporter = get_supporter_or_404(supporter_id)
    if supporter.status in ("erased", "merged"):
        flash(_("This record cannot be erased."), "warning")
        return _back(supporter.id)
    form = EraseForm()
    if form.validate_on_submit():
        typed = form.registration_number.data.strip().upper()
        if typed != supporter.registration_number.upper():
            form.registration_number.errors.append(
                _("This is not the registration number of this record.")
            )
        else:
            erase(supporter, current_user)
            db.session.commit()
            flash(_("The personal data of %(number)s was erased.",
                    number=supporter.registration_number), "success")  # fmt: skip
            return _back(supporter.id)
    if form.is_submitted():
        flash(_("Nothing was erased."), "danger")
    return render_template("rights/erase.html", form=form, supporter=supporter)


@bp.route("/stopped")
@requires_role("staff")
def stopped():
    """Likers whose use is stopped: the one place staff find them to resume.

    A page at a time, newest first, like the other lists: a town with many
    objections would otherwise get one page of thousands of rows."""
    pagination = db.paginate(
        select(Supporter)
        .where(Supporter.status == "stopped")
        .order_by(Supporter.use_stopped_at.desc(), Supporter.id),
        page=max(request.args.get("page", 1, type=int), 1),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("rights/stopped.html", pagination=pagination)


@bp.app_template_global()
def liker_rights_facts(supporter: Supporter) -> dict:
    """For the staff Liker page: the correction history and the buttons' form."""
    return {
        "corrections": list_corrections(supporter.id),
        "field_labels": CORRECTION_LABELS,
        "form": ConfirmForm(),
    }
