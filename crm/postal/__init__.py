from flask import Blueprint

bp = Blueprint("postal", __name__, url_prefix="/postal")

from crm.postal import views  # noqa: E402,F401
