"""Big print runs in the background: the queue, the worker and the progress page."""

from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.record_once
def set_up_queue(state) -> None:
    """Registering the feature also starts its worker thread with the first request."""
    from crm.jobs.queue import init_app

    init_app(state.app)
