from flask import Blueprint

# Public pages under /join; the staff review queue under /registrations.
bp = Blueprint("registration", __name__)
