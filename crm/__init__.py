"""Likers CRM: a relationship-population registry for Japanese towns."""

import importlib
import os
import secrets

from flask import Flask, g, has_request_context, render_template, request, session
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from crm import config as crm_config
from crm.database import init_database, sqlite_url_for
from crm.extensions import babel, bootstrap, csrf, db, login_manager, migrate
from crm.operations.logs import init_logging

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)
    init_logging(app)  # before the engine: SQL errors must not quote values
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    app.config.from_object(crm_config.DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_mapping(crm_config.from_environment())
    else:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config.get(
        "DATABASE_URL"
    ) or sqlite_url_for(app.instance_path)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith(
        "sqlite:///" + app.instance_path
    ):
        os.makedirs(app.instance_path, exist_ok=True)
    if app.config.get("HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
    if not (app.testing or app.debug):
        problem = crm_config.check_secret_key(app.config.get("SECRET_KEY"))
        if problem:
            raise RuntimeError(f"Likers CRM refuses to start: {problem}")


def register_extensions(app: Flask) -> None:
    init_database(app)
    migrate.init_app(
        app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True
    )

    @app.before_request
    def raise_upload_limit():
        # Before CSRFProtect's hook, which is the first to read the form.
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if getattr(view, "max_upload", None):
            request.max_content_length = view.max_upload

    csrf.init_app(app)
    bootstrap.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # enforce_access redirects without a flash

    from crm.auth.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def select_locale() -> str:
    """The language chosen in this session; Japanese, also for commands."""
    if not has_request_context():
        return "ja"
    return session.get("language") or "ja"


# Feature packages, in the order their blueprints are registered.
FEATURES = (
    "main", "auth", "public", "supporters", "events", "desk", "societies", "partners",
    "documents", "jobs", "reports", "exports", "imports", "postal", "admin",
    "rights", "audit",
    "registration",
)  # fmt: skip


def register_blueprints(app: Flask) -> None:
    for name in FEATURES:
        package = importlib.import_module(f"crm.{name}")
        importlib.import_module(f"crm.{name}.views")  # attaches the routes
        app.register_blueprint(package.bp)


def register_request_hooks(app: Flask) -> None:
    from crm.auth.permissions import enforce_access
    from crm.auth.sessions import check_session

    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:  # only as many proxies as configured: a forged X-Forwarded-For is ignored
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    @app.before_request
    def mark_write_intent():
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        g.writes_data = getattr(view, "writes_data", False)

    app.before_request(check_session)  # an ended or timed-out session signs nobody in
    app.before_request(enforce_access)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault(
            "Permissions-Policy", "camera=(self), microphone=(), geolocation=()"
        )
        if request.is_secure or app.config.get("HTTPS"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        # Every page but the static files: signed-in pages, the public Liker page
        # and error pages may all show personal data; none may stay in a cache.
        if request.endpoint not in ("static", "bootstrap.static"):
            response.headers["Cache-Control"] = "no-store"
        return response


def register_template_helpers(app: Flask) -> None:
    from crm import templating

    templating.register(app)


def register_errorhandlers(app: Flask) -> None:
    def render_error(error):
        code = getattr(error, "code", 500) or 500
        messages = {
            400: _(
                "The request could not be understood. Please reload the page and try again."
            ),
            403: _("You do not have permission to do this."),
            404: _("This page does not exist."),
            405: _("This page does not exist."),
            413: _("The file is too large."),
        }
        message = messages.get(code, _("Something went wrong. Please try again."))
        return render_template("errors/error.html", code=code, message=message), code

    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, render_error)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        """A generic page with a correlation ID; the traceback goes to the log only."""
        if isinstance(error, HTTPException) and error.code != 500:
            return (
                render_error(error)
                if error.code in (400, 403, 404, 405, 413)
                else error
            )
        propagate = app.config.get("PROPAGATE_EXCEPTIONS")
        if propagate is None:
            propagate = app.testing or app.debug
        if propagate:
            raise error
        original = getattr(error, "original_exception", None) or error
        # The request's id in the log (crm.operations.logs) is the number shown.
        correlation_id = g.get("request_id") or secrets.token_hex(6)
        app.logger.error(
            "Error %s on %s %s",
            correlation_id,
            request.method,
            request.endpoint or "(no route)",  # never the path: it may hold a token
            exc_info=(type(original), original, original.__traceback__),
        )
        db.session.rollback()  # the failed transaction must not serve the page
        message = _("Something went wrong. Please try again.")
        page = render_template(
            "errors/error.html",
            code=500,
            message=message,
            correlation_id=correlation_id,
        )
        return page, 500


def register_commands(app: Flask) -> None:
    from crm import cli

    cli.register(app)
