"""Structured logs: one JSON line per request and per message, with no personal data.

A line names the endpoint, never the path or query string (they can hold a
QR token, a search for a name, an email); the user is a number. Messages that
mention a path get tokens and query strings masked on the way out.
"""

import json
import logging
import os
import re
import secrets
import sys
import time
import traceback
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler

REQUEST_ID_HEADER = "X-Request-ID"
# An ID the proxy made (nginx: $request_id) is kept, so both logs line up.
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# Public paths whose next segment is a secret token: the QR page, an event's link.
_TOKEN_PREFIXES = ("v", "join/e")
# A segment kept as is in a masked path: short and plain (no name, email or token).
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._-]{0,15}")
_PATH_IN_TEXT = re.compile(r"(?<![\w/])/[^\s\"']*")

request_logger = logging.getLogger("crm.requests")


def mask_path(path: str) -> str:
    """A path fit for a log: no query string, tokens and unusual segments as '*'."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    segments = path.split("/")
    masked = []
    for index, segment in enumerate(segments):
        before = "/".join(segments[1:index])
        if before in _TOKEN_PREFIXES and segment:
            masked.append("*")
        elif _PLAIN_SEGMENT.fullmatch(segment):
            masked.append(segment)
        else:
            masked.append("*")
    return "/".join(masked)


def scrub(text: str) -> str:
    """Every path in a message masked (see mask_path)."""
    return _PATH_IN_TEXT.sub(lambda match: mask_path(match.group(0)), text)


class JsonFormatter(logging.Formatter):
    """time, level, logger, message and the request's fields, as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if has_request_context():
            line["request_id"] = g.get("request_id")
        line.update(getattr(record, "request_fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The frames and the error's type, not its message: messages can
            # quote the values (a name, an email) that caused the error.
            kind, _error, trace = record.exc_info
            line["error"] = f"{kind.__module__}.{kind.__qualname__}"
            line["traceback"] = "".join(traceback.format_tb(trace))
        return json.dumps(line, ensure_ascii=False)


class StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is now (journald, a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never break a request
            self.handleError(record)


def logs_wanted(app: Flask) -> bool:
    """LOG_JSON in the config, else CRM_LOG_JSON=1/0; off when neither is set.

    deploy/gunicorn.conf.py sets CRM_LOG_JSON=1: the server logs JSON, while the
    flask commands (their output is for people), `flask run` and tests do not.
    """
    setting = app.config.get("LOG_JSON")
    if setting is None:
        text = os.environ.get("CRM_LOG_JSON", "").strip().lower()
        setting = bool(text) and text not in ("0", "false", "no", "off")
    return bool(setting)


def init_logging(app: Flask) -> None:
    """JSON lines on stderr for the app's loggers, and one line per request."""
    if not logs_wanted(app):
        return
    # SQL errors otherwise quote the row's values (names, emails) in the log.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        "hide_parameters": True,
    }
    logger = logging.getLogger(app.import_name.split(".")[0])
    logger.removeHandler(default_handler)
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # no second, unformatted copy through the root logger

    @app.before_request
    def start_request_log():
        g.request_started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = (
            given if _GOOD_REQUEST_ID.fullmatch(given) else secrets.token_hex(6)
        )

    @app.after_request
    def log_request(response):
        started = g.get("request_started")
        if started is None:  # a request that never reached the hooks
            return response
        user = g.get("_login_user")  # only if the request loaded it: no extra query
        fields = {
            "method": request.method,
            "endpoint": request.endpoint or "(no route)",
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "user_id": user.id if getattr(user, "is_authenticated", False) else None,
        }
        request_logger.info("request", extra={"request_fields": fields})
        response.headers[REQUEST_ID_HEADER] = g.request_id
        return response
