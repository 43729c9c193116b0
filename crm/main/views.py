from flask import redirect, request, session, url_for

from crm.auth.permissions import public
from crm.auth.views import safe_next
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
