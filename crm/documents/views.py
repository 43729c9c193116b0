"""Printing business cards for one Liker or for the Likers list's selection."""

import io
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from crm.admin.services import get_settings
from crm.auth.permissions import requires_role
from crm.documents import bp
from crm.documents.services import (
    card_offsets,
    public_base_url_is_usable,
    record_issues,
    render_cards,
)
from crm.extensions import db
from crm.printing.business_card import render_calibration
from crm.printing.fonts import FontsMissing, font_set
from crm.printing.text import TextProblem
from crm.supporters.queries import get_supporter_or_404, select_supporters
from crm.supporters.views import FILTER_KEYS, filters_from_request
from crm.timeutil import today_jst

# Larger runs wait for background printing (issue 4); the CLI prints any number.
MAX_CARDS_PER_REQUEST = 1000
LAYOUTS = ("sheet", "single")


@bp.route("/cards", methods=["POST"])
@requires_role("staff")
def cards():
    """A PDF of business cards: one Liker (supporter_id) or the list's selection."""
    layout = (
        request.form.get("layout") if request.form.get("layout") in LAYOUTS else "sheet"
    )
    back = url_for("supporters.index")
    if request.form.get("supporter_id", "").isdigit():
        supporter = get_supporter_or_404(int(request.form["supporter_id"]))
        supporters = [supporter]
        back = url_for("supporters.show", supporter_id=supporter.id)
    else:
        text = request.form.get("query", "")
        if len(text) > 4000:
            abort(400)  # never cut a filter in half: it would print other people
        query = MultiDict(
            (key, value) for key, value in parse_qsl(text) if key in FILTER_KEYS
        )
        back = (
            url_for("supporters.index") + "?" + urlencode(list(query.items(multi=True)))
        )
        # Withdrawn Likers get no card: leave them out before counting.
        filters = replace(filters_from_request(query), status="active")
        supporters = select_supporters(filters, MAX_CARDS_PER_REQUEST + 1)
    supporters = [s for s in supporters if not s.is_withdrawn]
    if not supporters:
        flash(_("Nobody to print for."), "warning")
        return redirect(back)
    if len(supporters) > MAX_CARDS_PER_REQUEST:
        flash(
            _("More than %(count)s cards: narrow the selection (e.g. by date), or "
              "ask IT staff to print them with the command line.",
              count=MAX_CARDS_PER_REQUEST),
            "danger",
        )  # fmt: skip
        return redirect(back)
    settings = get_settings()
    base_url = current_app.config["PUBLIC_BASE_URL"]
    if not public_base_url_is_usable(base_url, current_app):
        flash(_("The public address for QR codes is not set (CRM_PUBLIC_BASE_URL), so "
                "the cards would point to this PC. Ask IT staff to set it."), "danger")  # fmt: skip
        return redirect(back)
    try:
        pdf = render_cards(
            supporters,
            layout,
            settings,
            base_url,
            tuple(current_app.config["FONT_DIRS"]),
        )
    except FontsMissing:
        flash(_("The Japanese fonts for printing are not installed. Ask IT staff "
                "to install IPAex fonts (see the README)."), "danger")  # fmt: skip
        return redirect(back)
    except TextProblem as problem:
        if problem.missing:
            message = _("No font can show %(chars)s in “%(text)s”. Nothing was printed.",
                        chars="".join(problem.missing), text=problem.text)  # fmt: skip
        else:
            message = _("“%(text)s” is too long for the card even at the smallest "
                        "size. Nothing was printed.", text=problem.text)  # fmt: skip
        flash(message, "danger")
        return redirect(back)
    if request.form.get("record") == "y":
        record_issues([s.id for s in supporters], "card", current_user)
    db.session.commit()
    name = f"cards-{today_jst():%Y%m%d}-{len(supporters)}.pdf"
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=name,
    )


@bp.route("/calibration.pdf")
@requires_role("staff")
def calibration():
    """The card sheet's cell outlines with the current offsets, to check a printer."""
    try:
        fonts = font_set("gothic", tuple(current_app.config["FONT_DIRS"]))
    except FontsMissing:
        flash(_("The Japanese fonts for printing are not installed. Ask IT staff "
                "to install IPAex fonts (see the README)."), "danger")  # fmt: skip
        return redirect(url_for("admin.settings"))
    pdf = render_calibration(fonts, card_offsets(get_settings()))
    return send_file(
        io.BytesIO(pdf), mimetype="application/pdf", download_name="calibration.pdf"
    )
