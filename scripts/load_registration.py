"""Load: public registrations from phones while staff browse, through gunicorn.

    python scripts/load_registration.py                       # 10 min, SQLite
    python scripts/load_registration.py --duration 120        # shortened, same rate
    python scripts/load_registration.py --database-url postgresql+psycopg://...

Migrates a fresh database (SQLite in a temporary folder unless --database-url;
a PostgreSQL schema is DROPPED and recreated), loads demo Likers, makes an event
with a registration link, starts ``gunicorn -w N`` on 127.0.0.1, then for
--duration seconds: --registrations people fill in the public form (half through
the event's link, half through the general form), spread evenly over the run,
each GET form → POST → GET confirmation; and --staff members of staff sign in and
browse the Likers list, a search and a Liker's page with a second's pause between
pages. Reports every request's outcome and the p50/p95/p99 per kind.

All traffic comes from 127.0.0.1, so the per-IP registration limit is raised for
the run (CRM_REGISTRATION_RATE_LIMIT); the phones of an event hall have many
addresses. Bounded: it stops at --duration whatever happens.
"""

import argparse
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

EMAIL = "load-staff@example.jp"
PASSWORD = "load-staff-password-0123"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds (600)")
    parser.add_argument("--registrations", type=int, default=300)
    parser.add_argument("--staff", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--likers", type=int, default=5000, help="demo Likers first")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--review", action="store_true", help="registrations wait")
    return parser.parse_args()


def reset_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal", ".writers"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(url: str, likers: int, review: bool) -> dict:
    from flask_migrate import upgrade

    from crm import create_app
    from crm.admin.services import ensure_settings
    from crm.auth.services import create_user
    from crm.demo import add_demo_supporters
    from crm.extensions import db
    from crm.registration.services import new_event_link
    from crm.setup_data import seed_reference_data
    from crm.supporters.models import Supporter
    from tests.factories import make_event

    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": url})
    with app.test_request_context():
        upgrade()
        seed_reference_data()
        ensure_settings().registration_review = review
        create_user(EMAIL, "Load", "staff", PASSWORD)
        db.session.commit()
        add_demo_supporters(likers, seed=7)
        event = make_event(title="負荷試験まつり")  # one day: today
        token = new_event_link(event).token
        db.session.commit()
        ids = list(db.session.scalars(select(Supporter.id)))
        event_id = event.id
        db.session.remove()
        db.engine.dispose()
    return {"token": token, "ids": ids, "event_id": event_id}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.errors = defaultdict(list)

    def timed(self, kind, call, ok=(200,)):
        started = time.perf_counter()
        try:
            response = call()
            good = response.status_code in ok
            detail = response.status_code
        except requests.RequestException as error:
            response, good, detail = None, False, type(error).__name__
        elapsed = time.perf_counter() - started
        with self.lock:
            self.times[kind].append(elapsed)
            if not good:
                self.errors[kind].append(detail)
        return response if good else None


def register(base: str, path: str, n: int, rec: Recorder) -> None:
    session = requests.Session()
    page = rec.timed("form GET", lambda: session.get(base + path, timeout=30))
    if page is None:
        return
    kana = "".join(random.choice(KANA) for _ in range(4))  # noqa: S311
    form = {
        "csrf_token": TOKEN.search(page.text).group(1),
        "submission_key": KEY.search(page.text).group(1),
        "family_name": f"負荷{n}", "given_name": "花子",
        "family_name_kana": kana, "given_name_kana": "ハナコ",
        "email": f"load{n}-{secrets.token_hex(3)}@example.jp",
        "postal_code": "068-0403", "prefecture": "北海道", "municipality": "夕張市",
        "privacy_consent": "y", "news_opt_in": "y",
    }  # fmt: skip
    done = rec.timed(
        "register POST",
        lambda: session.post(base + path, data=form, timeout=30, allow_redirects=False),
        ok=(302,),
    )
    if done is not None:
        rec.timed(
            "confirmation GET", lambda: session.get(base + "/join/done", timeout=30)
        )


def staff_member(base: str, ids: list[int], stop: float, rec: Recorder) -> None:
    session = requests.Session()
    page = rec.timed("staff sign-in", lambda: session.get(base + "/login", timeout=30))
    if page is None:
        return
    signed = rec.timed(
        "staff sign-in",
        lambda: session.post(base + "/login", data={
            "csrf_token": TOKEN.search(page.text).group(1), "email": EMAIL,
            "password": PASSWORD, "next": ""}, timeout=30, allow_redirects=False),
        ok=(302,),
    )  # fmt: skip
    if signed is None:
        return
    pages = [
        ("staff list", lambda: "/likers/"),
        ("staff search", lambda: "/likers/?q=" + random.choice(KANA)),  # noqa: S311
        ("staff Liker page", lambda: f"/likers/{random.choice(ids)}"),  # noqa: S311
    ]
    while time.monotonic() < stop:
        kind, path = random.choice(pages)  # noqa: S311
        url = base + path()
        rec.timed(kind, lambda url=url: session.get(url, timeout=30))
        time.sleep(random.uniform(0.5, 1.5))  # noqa: S311 - a person reading


def wait_until_healthy(base: str, seconds: float = 60) -> None:
    """Until the server's /healthz answers 200 (it starts in a few seconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="load-registration-"))
    url = args.database_url or f"sqlite:///{workdir}/load.sqlite3"
    reset_database(url)
    print(f"Preparing {url.split('@')[-1]} with {args.likers:,} Likers…", flush=True)
    prepared = prepare(url, args.likers, args.review)
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_SECRET_KEY": secrets.token_urlsafe(32),
        "CRM_PUBLIC_BASE_URL": "https://likers.example.jp",
        "CRM_JOBS_IN_PROCESS": "0",
        "CRM_REGISTRATION_RATE_LIMIT": "100000",
        "CRM_EVENT_REGISTRATION_RATE_LIMIT": "100000",
    }
    command = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers),
               "--bind", f"127.0.0.1:{port}", "--error-logfile",
               str(workdir / "gunicorn.log"), "crm:create_app()"]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    rec = Recorder()
    try:
        wait_until_healthy(base)
        started = time.monotonic()
        stop = started + args.duration
        staff = [
            threading.Thread(
                target=staff_member, args=(base, prepared["ids"], stop, rec)
            )
            for _ in range(args.staff)
        ]
        for thread in staff:
            thread.start()
        gap = args.duration / args.registrations
        people = []
        for n in range(args.registrations):
            delay = started + n * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            path = f"/join/e/{prepared['token']}" if n % 2 else "/join"
            person = threading.Thread(target=register, args=(base, path, n, rec))
            person.start()
            people.append(person)
        for thread in people + staff:
            thread.join(timeout=max(1, stop + 60 - time.monotonic()))
        elapsed = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    from crm import create_app
    from crm.extensions import db
    from crm.supporters.models import Supporter

    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": url})
    with app.app_context():
        created = db.session.scalar(
            select(func.count())
            .select_from(Supporter)
            .where(Supporter.family_name.like("負荷%"))
        )
        db.engine.dispose()
    total = sum(len(v) for v in rec.times.values())
    errors = sum(len(v) for v in rec.errors.values())
    print(f"\n{args.workers} gunicorn workers, {args.staff} staff, {args.registrations} "
          f"registrations over {elapsed:.0f} s ({make_url(url).get_backend_name()})")  # fmt: skip
    print(
        f"{'request':<18} {'count':>6} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    everything = []
    for kind, values in sorted(rec.times.items()):
        everything += values
        print(f"{kind:<18} {len(values):>6} {len(rec.errors[kind]):>6} "
              f"{statistics.median(values) * 1000:>7.0f} {percentile(values, .95) * 1000:>7.0f} "
              f"{percentile(values, .99) * 1000:>7.0f} {max(values) * 1000:>7.0f}")  # fmt: skip
    print(f"{'all':<18} {total:>6} {errors:>6} {statistics.median(everything) * 1000:>7.0f} "
          f"{percentile(everything, .95) * 1000:>7.0f} {percentile(everything, .99) * 1000:>7.0f}")  # fmt: skip
    print(f"errors {errors / max(total, 1):.3%}; Likers created by the form: {created} "
          f"of {args.registrations}")  # fmt: skip
    for kind, details in rec.errors.items():
        if details:
            print(f"  {kind}: {sorted(set(map(str, details)))}")
    return 0 if errors / max(total, 1) < 0.001 and created == args.registrations else 1


if __name__ == "__main__":
    sys.exit(main())
