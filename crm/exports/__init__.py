"""Files for spreadsheets: CSV and Excel writers shared by reports and list exports,
and the downloads of the Likers list and event rosters."""

from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/exports")
