"""Sign-in hardening: passwords, throttling, sessions, CSRF (security.md T03-T05)."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from crm import create_app
from crm.audit.models import AuditEntry
from crm.auth.models import SignInThrottle, User, UserSession
from crm.auth.passwords import common_passwords, password_problem
from crm.auth.services import UserError, create_user
from crm.extensions import db
from crm.timeutil import utcnow
from tests.conftest import PASSWORD, Browser, csrf_token_from

ROOT = Path(__file__).resolve().parent.parent
WRONG = "not the right password"
NEW_PASSWORD = "夕張メロン畑の向こうに2025"


def _config(app, **extra) -> dict:
    """A second app instance on the same database (another worker, another proxy)."""
    return {
        "TESTING": True,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"],
        "JOBS_IMMEDIATE": True,
        **extra,
    }


def _attempt(browser: Browser, email: str, password: str, **kwargs):
    return browser.post_form("/login", {"email": email, "password": password}, **kwargs)


def _audit_count(app, action: str, user_id=None) -> int:
    with app.app_context():
        query = select(func.count(AuditEntry.id)).where(AuditEntry.action == action)
        if user_id is not None:
            query = query.where(AuditEntry.object_id == user_id)
        return db.session.scalar(query)


def _end_waits(app) -> None:
    """Let the back-off pass, as if the clock had moved on."""
    with app.app_context():
        db.session.execute(
            update(SignInThrottle).values(blocked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


# --- passwords -----------------------------------------------------------------


def test_bundled_common_password_list_is_there_and_large(ctx):
    known = common_passwords()
    assert len(known) > 30_000
    assert {"password", "123456", "qwerty123456", "1q2w3e4r5t6y"} <= known


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short", "12文字以上"),
        ("qwerty123456", "よく使われる"),
        ("QWERTY123456", "よく使われる"),
        ("passwordpassword", "よく使われる"),
        ("aaaaaaaaaaaaaaa", "推測"),
        ("hanako@example.jp", "メールアドレス"),
    ],
)
def test_weak_passwords_are_refused_with_a_japanese_reason(ctx, password, words):
    problem = password_problem(password, "hanako@example.jp")
    assert problem is not None and words in problem, problem


def test_a_long_unusual_password_is_accepted(ctx):
    assert password_problem(NEW_PASSWORD, "hanako@example.jp") is None
    assert password_problem(PASSWORD, "staff@example.jp") is None


def test_create_user_and_the_cli_refuse_common_passwords(app, ctx):
    with pytest.raises(UserError):
        create_user("x@example.jp", "X", "staff", "1q2w3e4r5t6y")
    db.session.rollback()
    result = app.test_cli_runner().invoke(
        args=["users", "create", "y@example.jp", "--password", "qwerty123456"]
    )
    assert result.exit_code != 0
    with app.app_context():
        assert find_user("y@example.jp") is None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def test_admin_form_refuses_a_common_password_and_keeps_what_was_typed(app, signed_in):
    response = signed_in("admin").post_form(
        "/admin/users/new",
        {
            "email": "kansa@example.jp",
            "name": "監査 花子",
            "role": "viewer",
            "password": "qwertyuiop123",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "よく使われる" in page
    assert "kansa@example.jp" in page and "監査 花子" in page
    with app.app_context():
        assert find_user("kansa@example.jp") is None


# --- changing one's own password --------------------------------------------------


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    app, users, signed_in
):
    here = signed_in("staff")
    elsewhere = signed_in("staff")
    wrong = here.post_form(
        "/account/password",
        {
            "current_password": WRONG,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert "現在のパスワードが違います" in wrong.get_data(as_text=True)
    weak = here.post_form(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "staff@example.jp",
            "confirm_password": "staff@example.jp",
        },
    )
    assert "メールアドレス" in weak.get_data(as_text=True)
    done = here.post_form(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert done.status_code == 302
    assert here.get("/likers/").status_code == 200  # this browser goes on
    assert elsewhere.get("/likers/").status_code == 302  # the other one has ended
    fresh = Browser(app.test_client())
    assert _attempt(fresh, "staff@example.jp", PASSWORD).status_code == 200
    assert _attempt(fresh, "staff@example.jp", NEW_PASSWORD).status_code == 302
    assert _audit_count(app, "password_changed", users["staff"]) == 1


def test_an_admin_setting_a_password_ends_that_users_sessions(app, users, signed_in):
    staff = signed_in("staff")
    admin = signed_in("admin")
    response = admin.post_form(
        f"/admin/users/{users['staff']}/edit",
        {
            "email": "staff@example.jp",
            "name": "Staff User",
            "role": "staff",
            "active": "y",
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert staff.get("/likers/").status_code == 302


# --- CSRF (T03) -------------------------------------------------------------------


def test_sign_in_without_or_with_a_stale_csrf_token_is_refused(app, users):
    client = app.test_client()
    no_token = client.post(
        "/login", data={"email": "staff@example.jp", "password": PASSWORD}
    )
    assert no_token.status_code == 400
    assert "もう一度" in no_token.get_data(as_text=True)
    # A token of another browser's session (e.g. a forged login form on another site).
    other = app.test_client()
    stale = csrf_token_from(other.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"email": "staff@example.jp", "password": PASSWORD, "csrf_token": stale},
    )
    assert response.status_code == 400
    assert client.get("/likers/").status_code == 302


def test_forms_after_sign_out_refuse_the_old_token(app, signed_in, users):
    staff = signed_in("staff")
    token = csrf_token_from(staff.get("/likers/new").get_data(as_text=True))
    assert staff.client.post("/logout", data={}).status_code == 400  # no token
    staff.post_form("/logout", {}, token_from="/likers/")
    staff.sign_in("staff")
    response = staff.client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400  # the token of the session before
    assert _audit_count(app, "password_changed") == 0


# --- sessions (T04) ---------------------------------------------------------------


def _cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_sign_in_starts_a_new_session_and_the_old_cookie_stays_signed_out(app, users):
    browser = Browser(app.test_client())
    browser.get("/login")
    before = _cookie(browser.client)
    assert before
    browser.sign_in("staff")
    after = _cookie(browser.client)
    assert after and after != before
    attacker = app.test_client()
    attacker.set_cookie("session", before)
    assert attacker.get("/likers/").status_code == 302


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, signed_in):
    staff = signed_in("staff")
    copied = _cookie(staff.client)
    staff.post_form("/logout", {}, token_from="/likers/")
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/likers/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    with app.app_context():
        row = db.session.scalars(select(UserSession)).one()
        assert row.ended_at is not None and row.end_reason == "sign_out"


def test_an_idle_session_ends_and_sign_in_returns_to_the_page(app, users):
    browser = Browser(app.test_client())
    browser.sign_in("staff")
    with browser.client.session_transaction() as session:
        session["seen"] = int(time.time()) - 31 * 60
    response = browser.get("/events/?page=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "操作がなかったため" in page
    token = csrf_token_from(page)
    again = browser.client.post(
        response.headers["Location"],
        data={
            "csrf_token": token,
            "email": "staff@example.jp",
            "password": PASSWORD,
            "next": "/events/?page=1",
        },
    )
    assert again.headers["Location"] == "/events/?page=1"
    with app.app_context():
        reasons = set(db.session.scalars(select(UserSession.end_reason)))
        assert reasons == {"idle", None}


def test_a_session_ends_after_the_absolute_limit_even_when_used(app, users):
    browser = Browser(app.test_client())
    browser.sign_in("staff")
    assert browser.get("/likers/").status_code == 200
    with app.app_context():
        db.session.execute(
            update(UserSession).values(
                created_at=utcnow() - timedelta(hours=12, minutes=1)
            )
        )
        db.session.commit()
    response = browser.get("/likers/")
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "利用時間の上限" in page


def test_a_disabled_account_is_signed_out_at_its_next_request(app, users, signed_in):
    staff = signed_in("staff")
    with app.app_context():
        db.session.get(User, users["staff"]).active = False
        db.session.commit()
    assert staff.get("/likers/").status_code == 302


def test_session_cookie_is_httponly_lax_and_secure_over_https(app, users):
    browser = Browser(app.test_client())
    cookie = browser.sign_in("staff").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP on 127.0.0.1
    https = create_app(_config(app, HTTPS=True))
    secure = Browser(https.test_client())
    page = secure.get("/login", base_url="https://likers.example.jp")
    token = csrf_token_from(page.get_data(as_text=True))
    response = secure.client.post(
        "/login",
        base_url="https://likers.example.jp",
        headers={"Referer": "https://likers.example.jp/login"},
        data={"csrf_token": token, "email": "staff@example.jp", "password": PASSWORD},
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with https.app_context():
        db.engine.dispose()


# --- throttling (T05) -------------------------------------------------------------


def test_an_account_waits_after_five_failures_and_the_owner_gets_in_after(app, users):
    attacker = Browser(app.test_client())
    statuses = [
        _attempt(attacker, "staff@example.jp", f"{WRONG} {n}").status_code
        for n in range(8)
    ]
    assert statuses == [200] * 5 + [429] * 3
    owner = Browser(app.test_client())
    refused = _attempt(owner, "staff@example.jp", PASSWORD)
    assert refused.status_code == 429
    assert "お待ちください" in refused.get_data(as_text=True)
    _end_waits(app)
    assert _attempt(owner, "staff@example.jp", PASSWORD).status_code == 302
    # Every attempt is in the audit log by user id; no email or password in it.
    assert _audit_count(app, "sign_in_failed", users["staff"]) == 5
    assert _audit_count(app, "sign_in_throttled", users["staff"]) == 4
    assert _audit_count(app, "sign_in", users["staff"]) == 1
    with app.app_context():
        logged = json.dumps(
            [e.details for e in db.session.scalars(select(AuditEntry))], default=str
        )
        assert "staff@example.jp" not in logged and WRONG not in logged


def test_the_wait_doubles_with_each_further_failure(app, users):
    browser = Browser(app.test_client())
    waits = []
    for n in range(8):
        _attempt(browser, "staff@example.jp", f"{WRONG} {n}")
        with app.app_context():
            row = db.session.scalars(
                select(SignInThrottle).where(SignInThrottle.key.like("account:%"))
            ).one()
            if row.blocked_until and row.blocked_until > row.last_failure_at:
                waits.append((row.blocked_until - row.last_failure_at).total_seconds())
        _end_waits(app)
    assert waits == [30, 60, 120, 240]


def test_unknown_accounts_are_throttled_like_known_ones(app, users):
    browser = Browser(app.test_client())
    statuses = [
        _attempt(browser, "nobody@example.jp", f"{WRONG} {n}").status_code
        for n in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_one_address_trying_many_accounts_is_held_and_forged_xff_does_not_help(
    app, users
):
    limit = app.config["SIGN_IN_IP_LIMIT"]
    client = app.test_client()
    browser = Browser(client)
    for n in range(limit):
        response = _attempt(browser, f"guess{n}@example.jp", WRONG)
        assert response.status_code == 200
    forged = {"X-Forwarded-For": "198.51.100.77"}
    response = _attempt(browser, "staff@example.jp", PASSWORD, headers=forged)
    assert response.status_code == 429
    # Another address (another office PC) is not affected.
    other = Browser(app.test_client())
    response = other.post_form(
        "/login",
        {"email": "staff@example.jp", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
    )
    assert response.status_code == 302


def test_behind_one_proxy_only_the_proxys_address_counts(app, users):
    proxied = create_app(_config(app, PROXY_HOPS=1))
    browser = Browser(proxied.test_client())
    statuses = []
    for n in range(7):
        # The attacker sends a fresh X-Forwarded-For each time; the proxy appends
        # the real address, and only that one is trusted.
        headers = {"X-Forwarded-For": f"10.0.0.{n}, 203.0.113.9"}
        statuses.append(
            _attempt(browser, "staff@example.jp", WRONG, headers=headers).status_code
        )
    assert statuses == [200] * 5 + [429] * 2
    with proxied.app_context():
        keys = set(db.session.scalars(select(SignInThrottle.key)))
        assert "ip:203.0.113.9" in keys
        assert not any(key.startswith("ip:10.0.0.") for key in keys)
        db.engine.dispose()


WORKER = """
import json, sys, time
from crm import create_app
from tests.conftest import Browser

config = json.loads(sys.argv[1])
worker, tries, start = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
app = create_app(config)
browser = Browser(app.test_client())
browser.get("/login")
while time.time() < start:
    time.sleep(0.005)
statuses = []
for n in range(tries):
    response = browser.post_form(
        "/login",
        {"email": "staff@example.jp", "password": f"wrong {worker} {n}"},
        headers={"X-Forwarded-For": f"203.0.113.{worker * 10 + n}"},
    )
    statuses.append(response.status_code)
print(json.dumps(statuses))
"""


def test_the_limit_holds_across_worker_processes(app, users):
    workers, tries = 4, 10
    start = time.time() + 4
    config = json.dumps(_config(app))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, config, str(w), str(tries), str(start)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for w in range(workers)
    ]
    statuses = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        statuses += json.loads(out.strip().splitlines()[-1])
    assert len(statuses) == workers * tries
    assert statuses.count(200) == app.config["SIGN_IN_ACCOUNT_LIMIT"]
    assert statuses.count(429) == workers * tries - app.config["SIGN_IN_ACCOUNT_LIMIT"]
    assert _audit_count(app, "sign_in_failed", users["staff"]) == 5
    assert _audit_count(app, "sign_in_throttled", users["staff"]) == 35
    owner = Browser(app.test_client())
    assert _attempt(owner, "staff@example.jp", PASSWORD).status_code == 429
    _end_waits(app)
    assert _attempt(owner, "staff@example.jp", PASSWORD).status_code == 302
