"""Load: an event day, through gunicorn with the repository's configuration.

    python scripts/load_event_day.py                        # 10 min, SQLite
    python scripts/load_event_day.py --duration 120         # shortened, same rates
    python scripts/load_event_day.py --database-url postgresql+psycopg://...

For --duration seconds, all at once: --registrations people register on their
phones (half through the event's link), --staff members of staff browse and
search the Likers list, --desks check-in desks check in --checkins people (each
scan is a Liker's QR address, 5 % scanned twice), and --exports staff download
all --likers Likers (Excel and CSV in turn). Halfway through, `flask --app crm
backup` takes a backup while all of this goes on; after the run it is restored
onto an empty database with `flask --app crm restore`, and the restored counts
are compared with those the backup recorded.

Reports every request's outcome and p50/p95/p99 per kind, the exports' times and
the backup's and restore's; exits 1 when errors reach 0.1 %, p95 reaches 1 s,
a successful registration or check-in is missing, or the restore differs.

Migrates a fresh database first (SQLite in a temporary folder unless
--database-url; a PostgreSQL schema is DROPPED and recreated, and the restore
goes to a database named <name>_restore on the same server, also recreated).
All traffic comes from 127.0.0.1, so the per-address registration limit is
raised for the run. Bounded: it stops at --duration whatever happens.
"""

import argparse
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_registration import (  # noqa: E402
    EMAIL,
    PASSWORD,
    TOKEN,
    Recorder,
    free_port,
    percentile,
    register,
    reset_database,
    staff_member,
    wait_until_healthy,
)
from load_registration import prepare as prepare_registration  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PUBLIC_BASE_URL = "https://likers.example.jp"
COUNTED_TABLES = ("supporters", "attendances", "audit_entries", "consent_records")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds (600)")
    parser.add_argument("--registrations", type=int, default=300)
    parser.add_argument("--staff", type=int, default=20)
    parser.add_argument("--desks", type=int, default=4)
    parser.add_argument("--checkins", type=int, default=2000)
    parser.add_argument("--exports", type=int, default=2)
    parser.add_argument("--likers", type=int, default=50_000, help="demo Likers first")
    parser.add_argument("--database-url", default="")
    return parser.parse_args()


def prepare(url: str, likers: int, checkins: int) -> dict:
    """load_registration's set-up (registrations not held for review), and the
    QR codes of the Likers the desks will scan on the event's day."""
    prepared = prepare_registration(url, likers, review=False)
    engine = create_engine(url)
    with engine.connect() as connection:
        day_id = connection.execute(
            text("SELECT id FROM event_days WHERE event_id = :event"),
            {"event": prepared["event_id"]},
        ).scalar_one()
        tokens = list(
            connection.execute(
                text(
                    "SELECT public_token FROM supporters WHERE status = 'active'"
                    " ORDER BY random() LIMIT :count"
                ),
                {"count": checkins},
            ).scalars()
        )
    engine.dispose()
    return {"link": prepared["token"], "ids": prepared["ids"], "day_id": day_id,
            "tokens": tokens}  # fmt: skip


def signed_in_session(base: str, rec: Recorder) -> requests.Session | None:
    session = requests.Session()
    page = rec.timed("staff sign-in", lambda: session.get(base + "/login", timeout=30))
    if page is None:
        return None
    form = {"csrf_token": TOKEN.search(page.text).group(1), "email": EMAIL,
            "password": PASSWORD, "next": ""}  # fmt: skip
    signed = rec.timed(
        "staff sign-in",
        lambda: session.post(base + "/login", data=form, timeout=30,
                             allow_redirects=False),
        ok=(302,),
    )  # fmt: skip
    return session if signed is not None else None


class Desk:
    """One check-in desk: a laptop with a QR scanner, scans spread over the run."""

    def __init__(self, base, day_id, tokens, started, duration, rec, checked):
        self.base, self.day_id, self.tokens = base, day_id, tokens
        self.started, self.duration, self.rec = started, duration, rec
        self.checked = checked  # tokens the server said were checked in

    def run(self) -> None:
        session = signed_in_session(self.base, self.rec)
        if session is None:
            return
        page = self.rec.timed(
            "desk page",
            lambda: session.get(f"{self.base}/desk/{self.day_id}", timeout=30),
        )
        if page is None:
            return
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        headers = {"Accept": "application/json", "X-CSRFToken": csrf.group(1)}
        scans = list(self.tokens)
        rng = random.Random(self.day_id + len(scans))  # noqa: S311
        for index in rng.sample(range(len(scans)), len(scans) // 20):
            scans.insert(index + 1, scans[index])  # scanned twice by a hurried hand
        gap = self.duration / max(len(scans), 1)
        for n, token in enumerate(scans):
            delay = self.started + n * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            answer = self.rec.timed(
                "desk check-in",
                lambda token=token: session.post(
                    f"{self.base}/desk/{self.day_id}/check-in",
                    data={"code": f"{PUBLIC_BASE_URL}/v/{token}"},
                    headers=headers, timeout=30,
                ),
            )  # fmt: skip
            if answer is not None and answer.json().get("result") in (
                "checked_in",
                "already",
            ):
                self.checked.add(token)


def export_all(base: str, file_format: str, rec: Recorder, results: list) -> None:
    """A member of staff downloads every Liker; the file is read to its end."""
    session = signed_in_session(base, rec)
    if session is None:
        return
    page = rec.timed(
        "export form", lambda: session.get(base + "/exports/likers", timeout=30)
    )
    if page is None:
        return
    columns = [  # the boxes ticked by default, as staff would leave them
        re.search(r'value="([^"]+)"', tag).group(1)
        for tag in re.findall(r"<input[^>]*>", page.text)
        if 'name="columns"' in tag and "checked" in tag
    ]
    form = {"csrf_token": TOKEN.search(page.text).group(1), "query": "",
            "format": file_format, "columns": columns}  # fmt: skip
    started = time.perf_counter()
    try:
        with session.post(
            base + "/exports/likers", data=form, stream=True, timeout=120
        ) as response:
            first = None
            size = lines = 0
            for chunk in response.iter_content(65536):
                first = first or time.perf_counter() - started
                size += len(chunk)
                lines += chunk.count(b"\n")
            ok = response.status_code == 200
    except requests.RequestException:
        ok, first, size, lines = False, None, 0, 0
    elapsed = time.perf_counter() - started
    with rec.lock:
        if not ok:
            rec.errors["export download"].append("failed")
        results.append({"format": file_format, "ok": ok, "seconds": elapsed,
                        "first_byte": first, "bytes": size,
                        "rows": lines - 1 if file_format == "csv" else None})  # fmt: skip


def flask(args: list[str], url: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_SECRET_KEY": "k" * 40}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "crm", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def take_backup(url: str, target: Path, outcome: dict) -> None:
    started = time.perf_counter()
    done = flask(["backup", "-o", str(target)], url)
    outcome.update(
        backup_seconds=time.perf_counter() - started,
        backup_status=done.returncode,
        backup_output=(done.stdout + done.stderr)[-2000:],
        backup_bytes=target.stat().st_size if target.exists() else 0,
    )


def restore_url(url: str, workdir: Path) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///{workdir}/restored.sqlite3"
    name = f"{parsed.database}_restore"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in COUNTED_TABLES
        }
    engine.dispose()
    return found


def backup_counts(path: Path) -> dict[str, int]:
    """The row counts the backup's manifest recorded when it was taken."""
    from crm.operations.backup import read_manifest

    manifest = read_manifest(path)
    return {table: manifest["tables"][table]["rows"] for table in COUNTED_TABLES}


def gunicorn_command(port: int, workdir: Path) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy/gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--error-logfile", str(workdir / "gunicorn.log"),
            "crm.wsgi:app"]  # fmt: skip


def main() -> int:  # noqa: C901 - one run, told in order
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="load-event-day-"))
    url = args.database_url or f"sqlite:///{workdir}/load.sqlite3"
    reset_database(url)
    backend = make_url(url).get_backend_name()
    print(f"Preparing {backend} with {args.likers:,} Likers…", flush=True)
    prepared = prepare(url, args.likers, args.checkins)
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_SECRET_KEY": secrets.token_urlsafe(32),
        "CRM_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "CRM_JOBS_IN_PROCESS": "0",
        "CRM_REGISTRATION_RATE_LIMIT": "100000",
        "CRM_EVENT_REGISTRATION_RATE_LIMIT": "100000",
    }
    server_log = (workdir / "server.log").open("wb")  # the app's JSON request log
    server = subprocess.Popen(  # noqa: S603
        gunicorn_command(port, workdir), cwd=ROOT, env=env,
        stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    rec, checked, exports, backup = Recorder(), set(), [], {}
    backup_file = workdir / "middle-of-the-day.backup"
    try:
        wait_until_healthy(base)
        started = time.monotonic()
        stop = started + args.duration
        threads = [
            threading.Thread(
                target=staff_member, args=(base, prepared["ids"], stop, rec)
            )
            for _ in range(args.staff)
        ]
        share = (len(prepared["tokens"]) + args.desks - 1) // args.desks
        threads += [
            threading.Thread(target=Desk(
                base, prepared["day_id"], prepared["tokens"][n * share:(n + 1) * share],
                started, args.duration * 0.95, rec, checked).run)
            for n in range(args.desks)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        # Everything else at its moment: registrations evenly spread, the exports
        # at a quarter and at 65 %, the backup halfway.
        schedule = [
            (n * args.duration / args.registrations, "register", n)
            for n in range(args.registrations)
        ]
        schedule += [
            (args.duration * (0.25 + 0.4 * n), "export", n) for n in range(args.exports)
        ]
        schedule.append((args.duration * 0.5, "backup", 0))  # fmt: skip
        people = []
        for moment, kind, n in sorted(schedule):
            time.sleep(max(0, started + moment - time.monotonic()))
            if kind == "register":
                path = f"/join/e/{prepared['link']}" if n % 2 else "/join"
                target, task_args = register, (base, path, n, rec)
            elif kind == "export":
                target = export_all
                task_args = (base, ("xlsx", "csv")[n % 2], rec, exports)
            else:
                target, task_args = take_backup, (url, backup_file, backup)
            task = threading.Thread(target=target, args=task_args)
            task.start()
            people.append(task)
        for thread in people + threads:
            thread.join(timeout=max(1, stop + 120 - time.monotonic()))
        elapsed = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    engine = create_engine(url)
    with engine.connect() as connection:
        created = connection.execute(
            text("SELECT count(*) FROM supporters WHERE family_name LIKE '負荷%'")
        ).scalar()
        attended = connection.execute(
            text(
                "SELECT count(*) FROM attendances JOIN supporters"
                " ON supporters.id = attendances.supporter_id"
                " WHERE event_day_id = :day AND family_name NOT LIKE '負荷%'"
            ),
            {"day": prepared["day_id"]},
        ).scalar()
    engine.dispose()

    total = sum(len(v) for v in rec.times.values())
    errors = sum(len(v) for v in rec.errors.values())
    print(f"\n{backend}: {args.staff} staff, {args.desks} desks, {args.registrations} "
          f"registrations, {args.exports} exports over {elapsed:.0f} s")  # fmt: skip
    print(f"{'request':<18} {'count':>6} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7}")  # fmt: skip
    everything = []
    for kind, values in sorted(rec.times.items()):
        everything += values
        print(f"{kind:<18} {len(values):>6} {len(rec.errors[kind]):>6} "
              f"{statistics.median(values) * 1000:>7.0f} {percentile(values, .95) * 1000:>7.0f} "
              f"{percentile(values, .99) * 1000:>7.0f} {max(values) * 1000:>7.0f}")  # fmt: skip
    p95 = percentile(everything, 0.95)
    print(f"{'all':<18} {total:>6} {errors:>6} {statistics.median(everything) * 1000:>7.0f} "
          f"{p95 * 1000:>7.0f} {percentile(everything, .99) * 1000:>7.0f}")  # fmt: skip
    for export in exports:
        print(f"export {export['format']}: {export['seconds']:.1f} s, first byte "
              f"{(export['first_byte'] or 0):.2f} s, {export['bytes'] / 1e6:.1f} MB"
              + (f", {export['rows']:,} rows" if export["rows"] is not None else ""))  # fmt: skip
    print(f"errors {errors / max(total, 1):.3%}; registrations saved {created} of "
          f"{args.registrations}; checked in {attended} (answered: {len(checked)})")  # fmt: skip
    for kind, details in rec.errors.items():
        if details:
            print(f"  {kind}: {sorted(set(map(str, details)))[:10]}")

    restored_ok = False
    print(f"backup in the middle: exit {backup.get('backup_status')}, "
          f"{backup.get('backup_seconds', 0):.1f} s, "
          f"{backup.get('backup_bytes', 0) / 1e6:.1f} MB")  # fmt: skip
    if backup.get("backup_status") == 0:
        target = restore_url(url, workdir)
        started = time.perf_counter()
        done = flask(["restore", str(backup_file)], target)
        took = time.perf_counter() - started
        recorded, found = backup_counts(backup_file), counts(target)
        restored_ok = done.returncode == 0 and recorded == found
        print(f"restore: exit {done.returncode}, {took:.1f} s; counts recorded "
              f"{json.dumps(recorded)}, restored {json.dumps(found)}: "
              f"{'same' if recorded == found else 'DIFFERENT'}")  # fmt: skip
        if done.returncode:
            print(done.stdout[-2000:] + done.stderr[-2000:])
    else:
        print(backup.get("backup_output", ""))

    passed = (
        errors / max(total, 1) < 0.001
        and p95 < 1.0
        and created == args.registrations
        and attended == len(checked) == len(prepared["tokens"])
        and restored_ok
    )
    print("PASSED" if passed else "FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
