"""Gunicorn settings for Likers CRM (see docs/deployment.md).

    gunicorn -c deploy/gunicorn.conf.py crm.wsgi:app

Every value can be changed without editing this file, through the environment
(e.g. in /etc/likers-crm/env for the systemd unit):

    CRM_BIND        address and port to listen on        127.0.0.1:8000 (nginx in front)
    CRM_WORKERS     processes                            2
    CRM_THREADS     threads per process                  4
    CRM_TIMEOUT     seconds a silent worker may take     120
    CRM_ACCESS_LOG  "-" for gunicorn's access log on stderr (paths masked); off by
                    default: the app writes one JSON line per request itself
    CRM_LOG_JSON    0 turns those JSON lines off (plain Python logging instead)
"""

import os
import sys

from gunicorn import glogging

bind = os.environ.get("CRM_BIND", "127.0.0.1:8000")

# A few processes with several threads each. On SQLite only one request writes at
# a time anyway (crm/database.py queues writers across processes), so more
# processes add memory, not speed; threads keep readers and slow downloads from
# holding up the desk. On PostgreSQL, raise CRM_WORKERS to about the number of cores.
workers = int(os.environ.get("CRM_WORKERS", "2"))
threads = int(os.environ.get("CRM_THREADS", "4"))
worker_class = "gthread"

# With threads, the timeout only restarts a worker whose main loop hangs; a
# long PDF or Excel download runs in its own thread and is not cut off by it.
timeout = int(os.environ.get("CRM_TIMEOUT", "120"))
# On stop or restart, requests under way (a print run's download) may finish.
graceful_timeout = 60
keepalive = 5  # behind nginx, which keeps its own connections open
proc_name = "likers-crm"

# The app's own log: a JSON line per request, no personal data (crm/operations/logs.py)
os.environ.setdefault("CRM_LOG_JSON", "1")
errorlog = "-"
loglevel = "info"
accesslog = os.environ.get("CRM_ACCESS_LOG") or None
# No client address, query string, referrer or user agent; tokens masked.
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'


class MaskedAccessLogger(glogging.Logger):
    """Gunicorn's logger, with access lines that cannot hold personal data.

    /v/<token> and /join/e/<token> open a Liker's page and an event's form;
    query strings hold searches for names. Only the atoms used above are given.
    """

    def atoms(self, resp, req, environ, request_time):
        from crm.operations.logs import mask_path

        full = super().atoms(resp, req, environ, request_time)
        kept = {key: full[key] for key in ("m", "s", "B", "M", "T", "D", "L", "p")}
        kept["U"] = mask_path(environ.get("PATH_INFO") or "")
        kept["{x-request-id}o"] = full.get("{x-request-id}o", "-")
        return kept


logger_class = MaskedAccessLogger


def on_starting(server):
    """Before listening: refuse to serve an installation that is not ready."""
    from crm.operations.serving import startup_problems

    problems, warnings = startup_problems()
    for warning in warnings:
        server.log.warning("Likers CRM: %s", warning)
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        print(
            f"Likers CRM refuses to start:\n{lines}\n"
            "Fix this, check with `flask --app crm check`, then start again.",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(1)
