from flask import Blueprint

bp = Blueprint("postal", __name__, url_prefix="/postal")
