from flask import Blueprint

# No url_prefix: the QR code's path is short on purpose (/v/<token>).
bp = Blueprint("public", __name__)
