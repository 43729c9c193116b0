from flask import Blueprint

bp = Blueprint("supporters", __name__, url_prefix="/likers")

from crm.supporters import views  # noqa: E402,F401
