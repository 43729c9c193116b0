"""The audit log: who did what to which record; append-only and hash-chained."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
