"""Is this installation fit to serve? The checks run at start and by `flask check`."""

from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy.engine import Connection

from crm import MIGRATIONS_DIR
from crm.config import check_secret_key
from crm.documents.services import public_base_url_is_usable
from crm.extensions import db

UPGRADE_HINT = "Run `flask --app crm db upgrade` (after a backup), then start again."


@dataclass(frozen=True)
class Check:
    """One line of the production check: what was checked and what is wrong, if any."""

    name: str
    problem: str | None = None
    warning_only: bool = False

    @property
    def blocks_start(self) -> bool:
        return self.problem is not None and not self.warning_only


@cache
def migration_head() -> str:
    """The newest revision among the code's migrations (read once per process)."""
    heads = ScriptDirectory(MIGRATIONS_DIR).get_heads()
    return ", ".join(sorted(heads))


def database_revision(connection: Connection) -> str | None:
    """The revision the database was last upgraded to; None when never set up."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(sorted(heads)) or None


def migration_problem(revision: str | None) -> str | None:
    head = migration_head()
    if revision == head:
        return None
    if revision is None:
        return (
            "The database has no tables yet (never set up). "
            "Run `flask --app crm setup`, then start again."
        )
    if not _known(revision):
        return (
            f"The database is at revision {revision}, newer than this version of the "
            f"app ({head}): it was upgraded by a newer version. Install that version "
            "again, or restore the backup taken before the upgrade."
        )
    return (
        f"The database is at revision {revision}, this version of the app needs "
        f"{head}. {UPGRADE_HINT}"
    )


def _known(revision: str) -> bool:
    scripts = ScriptDirectory(MIGRATIONS_DIR)
    try:
        return all(scripts.get_revision(r) for r in revision.split(", "))
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


def database_checks() -> list[Check]:
    """Reachable, then at the newest migration. Inside an application context."""
    try:
        with db.engine.connect() as connection:
            revision = database_revision(connection)
    except Exception as error:  # noqa: BLE001 - any driver error means unreachable
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        return [
            Check(
                "database reachable",
                f"Cannot open the database {safe_url()}: {reason[0] if reason else ''} "
                "Check CRM_DATABASE_URL, that the database server runs and that "
                "this user may open the file or log in.",
            )
        ]
    return [
        Check("database reachable"),
        Check("database schema up to date", migration_problem(revision)),
    ]


def safe_url() -> str:
    """The database URL with any password hidden, for messages."""
    return db.engine.url.render_as_string(hide_password=True)


def production_checks(app: Flask) -> list[Check]:
    """Every check, in the order IT staff should fix them."""
    checks = [
        Check("secret key", check_secret_key(app.config.get("SECRET_KEY"))),
        Check(
            "debug mode off",
            "Debug mode is on: it shows code and data to anyone who causes an error. "
            "Unset FLASK_DEBUG and do not pass --debug."
            if app.debug
            else None,
        ),
        Check(
            "testing mode off",
            "TESTING is on: errors are not caught. Remove TESTING from instance/config.py."
            if app.testing
            else None,
        ),
    ]
    with app.app_context():
        checks += database_checks()
    base_url = app.config.get("PUBLIC_BASE_URL") or ""
    # As in production: the loopback default is allowed only while developing.
    usable = public_base_url_is_usable(
        base_url, SimpleNamespace(testing=False, debug=False)
    )
    checks.append(
        Check(
            "public address for QR codes",
            None
            if usable
            else f"CRM_PUBLIC_BASE_URL is {base_url or 'not set'}, which points to "
            "this PC: cards and posters are refused until it is the address people "
            "reach from outside, e.g. https://likers.town.lg.jp",
            warning_only=True,
        )
    )
    return checks


def production_problems(app: Flask) -> list[str]:
    """What stops this installation from serving; empty when it may start."""
    return [check.problem for check in production_checks(app) if check.blocks_start]


# --- /healthz ---------------------------------------------------------------------


def health_problem() -> str | None:
    """A short reason the app cannot serve now, or None. Cheap: one small query.

    Reading the revision proves the database answers and has the schema this code
    needs; the newest revision of the code is read once per process.
    """
    try:
        revision = database_revision(db.session.connection())
    except Exception as error:  # noqa: BLE001 - whatever the driver raises
        db.session.rollback()
        current_app.logger.warning(
            "health check: database unreachable (%s)", type(error).__name__
        )
        return "database unreachable"
    finally:
        db.session.commit()  # ends the read (a no-op after the rollback)
    if revision != migration_head():
        return "database schema not up to date"
    return None


# --- gunicorn's start -------------------------------------------------------------


def startup_problems() -> tuple[list[str], list[str]]:
    """Problems and warnings of the app gunicorn is about to serve, built as it will be.

    Run once in gunicorn's master before it forks; the app is thrown away again.
    """
    from crm import create_app

    try:
        app = create_app()
    except RuntimeError as error:  # the factory itself refuses a missing key
        return [str(error).removeprefix("Likers CRM refuses to start: ")], []
    try:
        checks = production_checks(app)
    finally:
        with app.app_context():
            db.engine.dispose()  # no connection may be shared with the workers
    problems = [c.problem for c in checks if c.blocks_start]
    warnings = [c.problem for c in checks if c.problem and c.warning_only]
    return problems, warnings
