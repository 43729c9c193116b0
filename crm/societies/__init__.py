from flask import Blueprint

bp = Blueprint("societies", __name__, url_prefix="/societies")
