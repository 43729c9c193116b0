from flask import redirect, request, session, url_for
from sqlalchemy import text

from crm.auth.permissions import public
from crm.auth.views import safe_next
from crm.extensions import db
from crm.main import bp


@bp.route("/")
def home():
    return redirect(url_for("supporters.index"))


@bp.route("/language/<code>", methods=["POST"])
@public
def set_language(code: str):
    if code in ("ja", "en"):
        session["language"] = code
    return redirect(safe_next(request.form.get("next")))


@bp.route("/healthz")
@public
def healthz():
    """For monitors and load balancers: the app answers and reaches its database."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
