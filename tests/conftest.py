import os
import re

import pytest
from sqlalchemy import text

from crm import create_app
from crm.audit.guards import clear_audit_log_for_tests
from crm.auth.services import create_user
from crm.extensions import db
from crm.setup_data import seed_reference_data

PASSWORD = "correct horse battery"
BACKENDS = ["sqlite"] + (
    ["postgresql"] if os.environ.get("CRM_TEST_DATABASE_URL") else []
)


def _reset_postgresql(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _admin_engine():
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(os.environ["CRM_TEST_DATABASE_URL"])
    return url, create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT"
    )


def fresh_postgresql_database(name: str) -> str:
    """An empty database of this name on the CRM_TEST_DATABASE_URL server: its URL.

    For tests that need a database of their own (upgrades, backups, servers), apart
    from the session's one.
    """
    url, admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_postgresql_database(name: str) -> None:
    _url, admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    """The app on an empty database migrated to head; once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/test.sqlite3"
    else:
        url = os.environ["CRM_TEST_DATABASE_URL"]
        _reset_postgresql(url)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "DATABASE_URL": url,
            "PUBLIC_BASE_URL": "https://likers.example.jp",
            "JOBS_IMMEDIATE": True,  # a print job runs within the request
        }
    )
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _all_tables():
    return list(reversed(db.metadata.sorted_tables))


@pytest.fixture(autouse=True)
def clean_database(request):
    """Every test that uses the app starts from seeded reference data only."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        for table in _all_tables():
            if table.name == "audit_entries":  # append-only: triggers lifted here
                clear_audit_log_for_tests(db.session.connection())
                continue
            db.session.execute(table.delete())
        seed_reference_data()
        db.session.commit()
        db.session.remove()
    yield


@pytest.fixture
def ctx(app):
    """An application context with a request, for calling services directly."""
    with app.test_request_context():
        yield
        db.session.rollback()


@pytest.fixture
def users(app):
    with app.app_context():
        made = {
            role: create_user(
                f"{role}@example.jp", f"{role.title()} User", role, PASSWORD
            ).id
            for role in ("admin", "staff", "viewer")
        }
        db.session.commit()
    return made


CSRF_PATTERN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


class Browser:
    """A test client that fills in the CSRF token the way a browser form would."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post_form(self, url, data=None, token_from=None, **kwargs):
        page = self.client.get(token_from or url)
        payload = {"csrf_token": csrf_token_from(page.get_data(as_text=True))}
        payload.update(data or {})
        return self.client.post(url, data=payload, **kwargs)

    def sign_in(self, role: str, next: str = ""):
        response = self.post_form(
            "/login",
            {"email": f"{role}@example.jp", "password": PASSWORD, "next": next},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def signed_in(app, users):
    """signed_in('staff') -> a Browser signed in with that role."""

    def sign_in(role: str) -> Browser:
        browser = Browser(app.test_client())
        browser.sign_in(role)
        return browser

    return sign_in


# --- printing: fonts and the tools that read PDFs back -----------------------


def print_tools_unavailable(reason: str):
    """Skip, or fail in CI (CRM_REQUIRE_PRINT_TOOLS=1, where they are installed)."""
    if os.environ.get("CRM_REQUIRE_PRINT_TOOLS") == "1":
        pytest.fail(f"{reason} (CRM_REQUIRE_PRINT_TOOLS=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def gothic():
    """The gothic font set with IPAmj Mincho as fallback (for 𠮷)."""
    from crm.printing.fonts import FontsMissing, font_set

    try:
        fonts = font_set("gothic")
    except FontsMissing as error:
        print_tools_unavailable(str(error))
    if "IPAmjMincho" not in [f.fontName for f in fonts.fonts]:
        print_tools_unavailable(
            "IPAmj Mincho is missing (apt-get install fonts-ipamj-mincho)"
        )
    return fonts
