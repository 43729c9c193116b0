from flask import redirect, request, session, url_for

from crm.auth.permissions import public
from crm.auth.views import safe_next
from crm.main import bp
from crm.operations.serving import health_problem


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
    """For monitors and load balancers: the app answers, its database is up to date."""
    problem = health_problem()
    if problem:
        return {"status": "unavailable", "reason": problem}, 503
    return {"status": "ok"}
