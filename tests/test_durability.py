"""Nothing lost: a real server killed at random, and an import killed half-way.

Every registration and check-in whose sender got a success answer must be in the
database after a power-cut-like kill (SIGKILL of every gunicorn process), once,
and the database must pass its own integrity checks.
"""

import http.client
import http.cookiejar
import itertools
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from crm.extensions import db
from tests.test_production_start import (
    REPO,
    database_url,
    free_port,
    migrate,
    production_app,
    server_environment,
    start_server,
    stop_server,
    wait_until_healthy,
)

SEED = 20260808
ROUNDS = 3
DESK_LIKERS = 200
STAFF_EMAIL = "desk@example.jp"
STAFF_PASSWORD = "correct horse battery staple"
BACKENDS = ["sqlite", "postgresql"]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SUBMISSION_KEY = re.compile(r'id="submission_key" name="submission_key" '
                            r'type="hidden" value="([^"]+)"')  # fmt: skip
NUMBER = re.compile(r'id="registration-number">([^<]+)<')


@pytest.fixture(params=BACKENDS)
def backend_url(request, tmp_path):
    return request.param, database_url(request.param, tmp_path, "crm_durability_test")


def prepared_database(url: str) -> dict:
    """Migrated and seeded, with a staff account, today's event and Likers to check in."""
    from crm.auth.services import create_user
    from crm.setup_data import seed_reference_data
    from tests.factories import make_event, make_supporter

    app = production_app(url)
    migrate(app)
    with app.test_request_context():
        seed_reference_data()
        create_user(STAFF_EMAIL, "受付担当", "staff", STAFF_PASSWORD)
        event = make_event(title="停電訓練の日")
        numbers = [
            make_supporter(email=f"desk{i}@example.jp").registration_number
            for i in range(DESK_LIKERS)
        ]
        db.session.commit()
        day_id = event.days[0].id
        db.engine.dispose()
    return {"app": app, "day_id": day_id, "numbers": numbers}


# --- clients that behave like phones and desks --------------------------------------


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser():
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects()
    )


def send(opener, url, data=None, headers=None, timeout=15):
    """(status, body, location); a refused or cut connection raises OSError."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode(), None
    except urllib.error.HTTPError as answer:
        return answer.code, answer.read().decode(), answer.headers.get("Location")


@dataclass
class Outcomes:
    """What the clients were told, per kill round."""

    round: int = 0
    registered: dict = field(default_factory=dict)  # submission key -> (email, number)
    checked_in: set = field(default_factory=set)  # registration numbers
    counts: Counter = field(default_factory=Counter)  # (round, kind, ok|failed)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str, answer: str) -> None:
        """answer: ok, failed (an error answer), cut (no answer) or refused (down)."""
        with self.lock:
            self.counts[(self.round, kind, answer)] += 1

    def wait_for_answers(self, round_number: int, wanted: int, limit=120) -> None:
        """Until the clients got this many success answers in this round."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self.lock:
                answered = sum(
                    self.counts[(round_number, kind, "ok")]
                    for kind in ("registration", "check-in")
                )
            if answered >= wanted:
                return
            time.sleep(0.05)
        raise AssertionError(f"round {round_number}: no answers from the server")


# What a client sees of a server that is killed or down: never an answer.
NO_ANSWER = (OSError, http.client.HTTPException)


def no_answer(error: Exception) -> str:
    reason = getattr(error, "reason", error)
    return "refused" if isinstance(reason, ConnectionRefusedError) else "cut"


def register_people(base: str, outcomes: Outcomes, stop, serial) -> None:
    """A stream of people filling in /join on their phones, each once."""
    while not stop.is_set():
        n = next(serial)
        email = f"person{n}@example.jp"
        phone = browser()
        try:
            _status, page, _ = send(phone, f"{base}/join")
            form = {
                "csrf_token": CSRF.search(page).group(1),
                "submission_key": SUBMISSION_KEY.search(page).group(1),
                "ref": "",
                "family_name": "停電",
                "given_name": f"{n}号",
                "family_name_kana": "テイデン",
                "given_name_kana": "タロウ",
                "email": email,
                "postal_code": "068-0403",
                "privacy_consent": "y",
            }
            status, _page, location = send(phone, f"{base}/join", form)
        except NO_ANSWER as error:
            outcomes.count("registration", no_answer(error))
            time.sleep(0.1)
            continue
        except AttributeError:  # the form was not on the page
            outcomes.count("registration", "failed")
            continue
        saved = status == 302 and location.endswith("/join/done")
        if saved:
            with outcomes.lock:
                outcomes.registered[form["submission_key"]] = (email, None)
            try:
                _status, done, _ = send(phone, f"{base}/join/done")
                number = NUMBER.search(done).group(1).strip()
                with outcomes.lock:
                    outcomes.registered[form["submission_key"]] = (email, number)
            except (*NO_ANSWER, AttributeError):
                pass  # saved all the same: the number is checked if it was shown
        outcomes.count("registration", "ok" if saved else "failed")


def run_desk(base: str, day_id: int, queue: list, outcomes: Outcomes, stop) -> None:
    """A desk PC: signed in once, scanning cards; a scan with no answer is repeated."""
    desk = browser()
    token = number = None
    while not stop.is_set() and (queue or number):
        try:
            if token is None:
                _status, page, _ = send(desk, f"{base}/login")
                send(desk, f"{base}/login", {
                    "csrf_token": CSRF.search(page).group(1),
                    "email": STAFF_EMAIL, "password": STAFF_PASSWORD, "next": "",
                })  # fmt: skip
                _status, page, _ = send(desk, f"{base}/desk/{day_id}")
                token = CSRF.search(page).group(1)
            if number is None:
                with outcomes.lock:
                    number = queue.pop()
            status, answer, _ = send(
                desk,
                f"{base}/desk/{day_id}/check-in",
                {"code": number},
                {"Accept": "application/json", "X-CSRFToken": token},
            )
            result = json.loads(answer).get("result") if status == 200 else None
        except NO_ANSWER as error:
            outcomes.count("check-in", no_answer(error))
            time.sleep(0.1)
            continue
        except (AttributeError, ValueError):  # no form, or no JSON: sign in again
            outcomes.count("check-in", "failed")
            token = None
            continue
        ok = result in ("checked_in", "already")  # "already": the cut scan was saved
        if ok:
            with outcomes.lock:
                outcomes.checked_in.add(number)
            number = None
        outcomes.count("check-in", "ok" if ok else "failed")


# --- the server, killed and restarted ------------------------------------------------


@pytest.mark.concurrency
def test_every_answered_registration_and_check_in_survives_sigkill(
    backend_url, tmp_path
):
    backend, url = backend_url
    prepared = prepared_database(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = server_environment(
        url, port, CRM_REGISTRATION_RATE_LIMIT="1000000", CRM_LOG_JSON="0"
    )
    chance = random.Random(SEED)
    outcomes, stop, serial = Outcomes(), threading.Event(), itertools.count()
    queue = list(reversed(prepared["numbers"]))
    clients = [
        threading.Thread(target=register_people, args=(base, outcomes, stop, serial))
        for _ in range(3)
    ] + [
        threading.Thread(
            target=run_desk, args=(base, prepared["day_id"], queue, outcomes, stop)
        )
        for _ in range(2)
    ]
    restarts = []
    server = start_server(environment, tmp_path / "gunicorn.log")
    try:
        restarts.append(wait_until_healthy(server, port))
        for client in clients:
            client.start()
        for round_number in range(1, ROUNDS + 1):
            outcomes.round = round_number
            outcomes.wait_for_answers(round_number, 4)
            time.sleep(chance.uniform(0.1, 1.5))  # then a random moment
            os.killpg(server.pid, signal.SIGKILL)  # every process, mid-request
            server.wait(timeout=30)
            server = start_server(environment, tmp_path / "gunicorn.log")
            restarts.append(wait_until_healthy(server, port))
        outcomes.round = ROUNDS + 1  # after the last kill: served to the end
        outcomes.wait_for_answers(ROUNDS + 1, 4)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
        stop_server(server, signal.SIGKILL)
    report_figures(backend, outcomes, restarts)

    assert outcomes.registered and outcomes.checked_in  # the clients did get through
    with prepared["app"].app_context():
        assert_nothing_lost(outcomes, prepared["day_id"])
        db.engine.dispose()
    assert_database_intact(url)


def assert_nothing_lost(outcomes: Outcomes, day_id: int) -> None:
    from crm.events.models import Attendance
    from crm.registration.models import Registration
    from crm.supporters.models import Supporter

    saved = dict(
        db.session.execute(
            select(Registration.submission_key, Supporter.email)
            .join(Supporter, Supporter.id == Registration.supporter_id)
        ).all()
    )  # fmt: skip
    numbers = dict(
        db.session.execute(select(Supporter.email, Supporter.registration_number)).all()
    )
    for key, (email, number) in outcomes.registered.items():
        assert saved.get(key) == email, f"registration of {email} lost"
        assert number is None or numbers[email] == number
    emails = db.session.scalars(
        select(Supporter.email).where(Supporter.email.like("person%"))
    ).all()
    assert len(emails) == len(set(emails)), "a registration was saved twice"
    all_numbers = db.session.scalars(select(Supporter.registration_number)).all()
    assert len(all_numbers) == len(set(all_numbers))
    attended = db.session.scalars(
        select(Supporter.registration_number)
        .join(Attendance, Attendance.supporter_id == Supporter.id)
        .where(Attendance.event_day_id == day_id)
    ).all()
    assert outcomes.checked_in <= set(attended), "an answered check-in was lost"
    assert len(attended) == len(set(attended)), "a Liker was counted twice"
    assert db.session.scalar(select(func.count(Registration.id))) >= len(
        outcomes.registered
    )


def assert_database_intact(url: str) -> None:
    """SQLite's own integrity check, and the audit log's hash chain on both."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            connection.close()
    verified = production_app(url).test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and verified.output.startswith("OK"), verified.output


def report_figures(backend: str, outcomes: Outcomes, restarts: list[float]) -> None:
    """Printed for docs/benchmarks.md (pytest -s shows them)."""
    rounds = sorted({key[0] for key in outcomes.counts})
    print(f"\n[{backend}] restart until /healthz answers: "
          + ", ".join(f"{s:.1f} s" for s in restarts))  # fmt: skip
    for number in rounds:
        parts = [
            f"{kind} "
            + " / ".join(
                f"{outcomes.counts[(number, kind, answer)]} {answer}"
                for answer in ("ok", "failed", "cut", "refused")
            )
            for kind in ("registration", "check-in")
        ]
        label = f"round {number}" if number <= ROUNDS else "after last kill"
        print(f"[{backend}] {label}: " + ", ".join(parts))


# --- an import killed half-way -------------------------------------------------------

IMPORT_ROWS = 3000
FAMILY = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
]
GIVEN = [("一郎", "イチロウ"), ("花子", "ハナコ"), ("翔太", "ショウタ"), ("美咲", "ミサキ"),
         ("健", "ケン"), ("陽菜", "ヒナ"), ("大輔", "ダイスケ"), ("葵", "アオイ")]  # fmt: skip
IMPORT_APP_NAME = "crm_durability_import"


def write_import_file(path: Path) -> None:
    lines = ["姓,名,セイ,メイ,メールアドレス"]
    for i in range(IMPORT_ROWS):
        (family, family_kana), (given, given_kana) = (
            FAMILY[i % len(FAMILY)],
            GIVEN[i // len(FAMILY) % len(GIVEN)],
        )
        lines.append(
            f"{family},{given},{family_kana},{given_kana},import{i}@example.jp"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def writing_has_begun(url: str, watcher) -> bool:
    """The import's transaction has written rows the database has not committed."""
    if url.startswith("sqlite"):
        wal = Path(url.removeprefix("sqlite:///") + "-wal")
        # Rows beyond SQLite's page cache spill into the WAL before the commit.
        return wal.exists() and wal.stat().st_size > 256 * 1024
    with watcher.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    ":name AND backend_xid IS NOT NULL"
                ),
                {"name": IMPORT_APP_NAME},
            )
        )


def imported_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(
            text("SELECT count(*) FROM supporters WHERE email LIKE 'import%'")
        )
    engine.dispose()
    return count


def test_an_import_killed_half_way_writes_nothing_and_a_rerun_imports_once(
    backend_url, tmp_path
):
    _backend, url = backend_url
    migrate(production_app(url))
    file = tmp_path / "likers.csv"
    write_import_file(file)
    watcher = None if url.startswith("sqlite") else create_engine(url)
    environment = {**server_environment(url, 0), "PGAPPNAME": IMPORT_APP_NAME}
    importing = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "crm", "import", "likers", str(file)],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while not writing_has_begun(url, watcher):
            assert importing.poll() is None, "the import ended before it was killed"
            time.sleep(0.01)
        # Somewhere within the writing, which lasts over a second for this file.
        time.sleep(random.Random(SEED).uniform(0, 0.3))
        os.killpg(importing.pid, signal.SIGKILL)
        importing.wait(timeout=30)
    finally:
        if importing.poll() is None:
            os.killpg(importing.pid, signal.SIGKILL)
        if watcher is not None:
            watcher.dispose()
    assert imported_count(url) == 0

    command = production_app(url).test_cli_runner()
    rerun = command.invoke(args=["import", "likers", str(file)])
    assert rerun.exit_code == 0, rerun.output
    assert f"{IMPORT_ROWS} created" in rerun.output
    again = command.invoke(args=["import", "likers", str(file), "--duplicates", "skip"])
    assert again.exit_code == 0, again.output
    assert f"0 created, 0 updated, {IMPORT_ROWS} skipped" in again.output
    assert imported_count(url) == IMPORT_ROWS
    assert_database_intact(url)
