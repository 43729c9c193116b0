from flask import Blueprint

bp = Blueprint("supporters", __name__, url_prefix="/likers")
