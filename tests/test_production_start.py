"""Starting for real: the production check, /healthz, gunicorn's refusal, the logs."""

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from crm.operations.serving import migration_head, production_problems
from tests.conftest import fresh_postgresql_database

REPO = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = REPO / "deploy" / "gunicorn.conf.py"
GOOD_KEY = "a-production-secret-key-0123456789-abcdefghij"
BACKENDS = ["sqlite", "postgresql"]


def own_postgresql_url(name: str) -> str | None:
    """A fresh database of this name on the CRM_TEST_DATABASE_URL server, or None."""
    if not os.environ.get("CRM_TEST_DATABASE_URL"):
        return None
    return fresh_postgresql_database(name)


def database_url(backend: str, tmp_path: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/{name}.sqlite3"
    url = own_postgresql_url(name)
    if url is None:
        pytest.skip("no PostgreSQL URL given (CRM_TEST_DATABASE_URL)")
    return url


def production_app(url: str, **config):
    """The app as a server builds it: not testing, not debugging."""
    return create_app(
        {
            "SECRET_KEY": GOOD_KEY,
            "DATABASE_URL": url,
            "PUBLIC_BASE_URL": "https://likers.example.jp",
            "LOG_JSON": False,  # other tests' log capture must keep working
            **config,
        }
    )


def migrate(app, revision: str = "head") -> None:
    with app.app_context():
        upgrade(revision=revision)
        db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    return database_url(request.param, tmp_path, "crm_durability_start")


def test_a_good_setup_passes_and_each_problem_is_named_with_its_fix(url):
    app = production_app(url)
    migrate(app)
    assert production_problems(app) == []
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0 and "Ready to serve." in result.output

    app.config["SECRET_KEY"] = "changeme"
    (problem,) = production_problems(app)
    assert "secret key is too weak" in problem and "secrets.token_hex" in problem
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert "PROBLEM  secret key" in result.output
    assert "the server will refuse to start" in result.output
    app.config["SECRET_KEY"] = GOOD_KEY

    app.debug = True
    (problem,) = production_problems(app)
    assert "Debug mode is on" in problem


def test_a_database_behind_the_code_is_refused_with_the_upgrade_command(url):
    app = production_app(url)
    migrate(app, "0011")
    (problem,) = production_problems(app)
    assert f"at revision 0011, this version of the app needs {migration_head()}" in (
        problem
    )
    assert "flask --app crm db upgrade" in problem
    with app.test_client() as client:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json == {
            "status": "unavailable",
            "reason": "database schema not up to date",
        }
    with app.app_context():  # a newer version upgraded it, then this one came back
        db.session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        db.session.commit()
        db.engine.dispose()
    (problem,) = production_problems(app)
    assert "at revision 9999, newer than this version" in problem
    assert "db upgrade" not in problem


def test_an_unreachable_database_is_refused(tmp_path):
    unreachable = [f"sqlite:///{tmp_path}/no/such/folder/crm.sqlite3"]
    if os.environ.get("CRM_TEST_DATABASE_URL"):
        closed_port = make_url(os.environ["CRM_TEST_DATABASE_URL"]).set(
            port=free_port(), database="crm_durability_none"
        )
        unreachable.append(closed_port.render_as_string(hide_password=False))
    for url in unreachable:
        (problem,) = production_problems(production_app(url))
        assert "Cannot open the database" in problem and "CRM_DATABASE_URL" in problem


def test_the_public_address_on_this_pc_is_a_warning_only(tmp_path):
    app = production_app(
        f"sqlite:///{tmp_path}/crm.sqlite3", PUBLIC_BASE_URL="http://127.0.0.1:5000"
    )
    migrate(app)
    assert production_problems(app) == []
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0
    assert "WARNING  public address for QR codes" in result.output


def test_healthz_answers_503_when_the_database_is_gone(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    app = production_app(f"sqlite:///{folder}/crm.sqlite3")
    migrate(app)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    shutil.rmtree(folder)  # the disk with the database is gone
    with app.app_context():
        db.engine.dispose()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "reason": "database unreachable"}
    assert "Set-Cookie" not in response.headers
    assert str(folder) not in response.get_data(as_text=True)


# --- gunicorn, as the systemd unit starts it ----------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(url: str, port: int, **extra) -> dict:
    environment = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_SECRET_KEY": GOOD_KEY,
        "CRM_BIND": f"127.0.0.1:{port}",
        "CRM_PUBLIC_BASE_URL": "https://likers.example.jp",
        "CRM_JOBS_IN_PROCESS": "0",
        **extra,
    }
    environment.pop("FLASK_DEBUG", None)
    return environment


def start_server(environment: dict, output: Path) -> subprocess.Popen:
    """gunicorn with the repository's config, in a process group of its own."""
    with open(output, "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(GUNICORN_CONFIG),
                "crm.wsgi:app",
            ],
            cwd=REPO,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def get(port: int, path: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}{path}", timeout=timeout
        ) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_healthy(server: subprocess.Popen, port: int, limit: float = 90) -> float:
    """Seconds until /healthz answers 200; fails if the server exits or never does."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited with status {server.returncode}")
        try:
            status, _body = get(port, "/healthz", timeout=2)
        except OSError:
            status = None
        if status == 200:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError("/healthz did not answer 200 in time")


def stop_server(server: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if server.poll() is None:
        os.killpg(server.pid, sig)
        server.wait(timeout=60)


def test_gunicorn_refuses_an_installation_that_was_never_set_up(tmp_path):
    port = free_port()
    output = tmp_path / "gunicorn.log"
    url = f"sqlite:///{tmp_path}/empty.sqlite3"
    server = start_server(server_environment(url, port), output)
    try:
        assert server.wait(timeout=90) != 0
    finally:
        stop_server(server, signal.SIGKILL)
    said = output.read_text()
    assert "Likers CRM refuses to start" in said
    assert "flask --app crm setup" in said
    assert "Listening at" not in said  # it never opened the port


def test_gunicorn_serves_healthz_and_logs_no_tokens(tmp_path):
    url = f"sqlite:///{tmp_path}/crm.sqlite3"
    migrate(production_app(url))
    port = free_port()
    output = tmp_path / "gunicorn.log"
    server = start_server(
        server_environment(url, port, CRM_ACCESS_LOG="-", CRM_LOG_JSON="1"), output
    )
    try:
        wait_until_healthy(server, port)
        token = "QRtokenCANARY0123456789ab"
        assert get(port, f"/v/{token}?email=canary@example.jp")[0] == 404
    finally:
        stop_server(server)
    said = output.read_text()
    assert '"GET /v/*" 404' in said and '"endpoint": "public.liker"' in said
    assert token not in said and "canary" not in said


# --- the logs ----------------------------------------------------------------------


CANARIES = ("𠮷田", "カナリア", "canary.person@example.jp", "QRtokenCANARY")


def test_the_logs_are_json_lines_without_personal_data(tmp_path, capsys):
    from crm.auth.permissions import public
    from crm.operations.logs import StderrHandler
    from tests.test_registration import FORM, fill_in

    logger = logging.getLogger("crm")
    level, propagate = logger.level, logger.propagate
    app = create_app(
        {
            "TESTING": True,
            "LOG_JSON": True,
            "PROPAGATE_EXCEPTIONS": False,  # the generic error page, as served
            "SECRET_KEY": GOOD_KEY,
            "DATABASE_URL": f"sqlite:///{tmp_path}/crm.sqlite3",
        }
    )

    name = CANARIES[0]

    @app.route("/v/<token>/fails")
    @public
    def fails(token):
        raise ValueError(f"cannot show {token} for {name}")

    migrate(app)
    from crm.auth.services import create_user
    from tests.conftest import PASSWORD, Browser

    with app.app_context():
        staff_id = create_user("canary.person@example.jp", "𠮷田", "staff", PASSWORD).id
        db.session.commit()
    capsys.readouterr()
    try:
        visitor = Browser(app.test_client())
        fill_in(
            visitor, family_name="𠮷田", family_name_kana="カナリア",
            email="canary.person@example.jp",
        )  # fmt: skip
        visitor.get("/v/QRtokenCANARY0123456789?q=𠮷田")
        failed = visitor.get("/v/QRtokenCANARY0123456789/fails")
        staff = Browser(app.test_client())
        staff.post_form(
            "/login", {"email": "canary.person@example.jp", "password": PASSWORD}
        )
        staff.get("/likers/?q=𠮷田&email=canary.person@example.jp")
        lines = capsys.readouterr().err.splitlines()
    finally:  # as it was, for the tests that capture logs after this one
        for handler in [h for h in logger.handlers if isinstance(h, StderrHandler)]:
            logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    assert failed.status_code == 500
    records = [json.loads(line) for line in lines]  # every line is JSON
    requests = [r for r in records if r["message"] == "request"]
    assert {r["endpoint"] for r in requests} >= {
        "registration.join", "public.liker", "auth.login",
    }  # fmt: skip
    assert all(
        set(r) >= {"time", "level", "request_id", "method", "status", "duration_ms"}
        for r in requests
    )
    assert staff_id in {r["user_id"] for r in requests}
    (error,) = [r for r in records if r["level"] == "error"]
    # The error line names the view and the number shown on the error page.
    assert error["error"] == "builtins.ValueError"
    assert error["message"] == f"Error {error['request_id']} on GET fails"
    everything = "\n".join(lines)
    for canary in (*CANARIES, FORM["given_name"]):
        assert canary not in everything
