"""Pages anyone may open: what a Liker's QR code points to."""

from flask import redirect, render_template, url_for
from flask_login import current_user

from crm.auth.permissions import public
from crm.public import bp
from crm.supporters.queries import find_by_public_token, surviving_supporter

# Not kept by browsers or proxies, not listed by search engines.
PRIVATE_PAGE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@bp.route("/v/<token>")
@public
def liker(token: str):
    """The public side of a Liker's card: registered, since when, and no more.

    Staff who scan it while signed in go to the record instead. An unknown, a
    reissued (revoked) and a withdrawn Liker's token all get the same answer, so the
    page tells nothing about which tokens ever existed. The token of a Liker merged
    into another leads to the survivor's page.
    """
    found = find_by_public_token(token)
    supporter = surviving_supporter(found)
    if current_user.is_authenticated and supporter is not None:
        return redirect(url_for("supporters.show", supporter_id=supporter.id))
    # Only an active Liker: withdrawn, pending (not yet reviewed) and rejected
    # registrations answer like an unknown token.
    if supporter is None or supporter.status != "active":
        return render_template("public/invalid.html"), 404, PRIVATE_PAGE
    if supporter is not found:
        return redirect(url_for(".liker", token=supporter.public_token)), PRIVATE_PAGE
    return render_template("public/liker.html", supporter=supporter), PRIVATE_PAGE
