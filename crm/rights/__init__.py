"""The person's rights under the APPI: disclosure, correction, stopping use, erasure."""

from flask import Blueprint

bp = Blueprint("rights", __name__, url_prefix="/likers")
