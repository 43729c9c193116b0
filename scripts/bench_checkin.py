"""Benchmark desk check-ins through a real server: gunicorn, two workers, wrk.

Prepares the database (migrations, reference lists, demo Likers, a staff user and
one event with a fresh day per measured run), starts
``gunicorn -w 2 -b 127.0.0.1:<free port> 'crm:create_app()'``, signs in through the
login form and then, per run, drives POST /desk/<day>/check-in with wrk for a fixed
time (each request a different Liker, every 10th a repeat scan answered "already"),
and GET /healthz the same way as the ceiling of the same app and server; the ratio
of the two is the share of the ceiling a check-in reaches. After each check-in run
the day's attendance rows are counted in the database: one per Liker, one per
"checked_in" answer. Prints per-run figures and the medians of --runs runs; exits 1
when the target (200 check-ins/s with p99 under 100 ms) is missed or a check fails.

    python scripts/bench_checkin.py                      # fresh SQLite, 20000 Likers
    python scripts/bench_checkin.py --database-url sqlite:////tmp/bench/crm.sqlite3
    psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE crm_bench'
    python scripts/bench_checkin.py --likers 100000 --wait-idle 0.9 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench

Needs wrk (apt-get install wrk) and gunicorn (pip install 'gunicorn>=23,<24') next to
the Python that runs this script. Without --database-url a fresh SQLite file in a
temporary folder is used and removed at the end. A given database is kept: Likers
are only loaded when fewer than --likers exist, and each invocation adds one event
with its own days. --reset empties it first (SQLite: deletes the file; PostgreSQL:
drops the public schema), so never point it at a database you need.

The server runs sync workers by default; --worker-class gthread --threads 4 gave
about the same rate with a higher p99. wrk, gunicorn and the database share the
machine's CPUs: the report splits the CPU time of each run between the server,
PostgreSQL, wrk and everything else, and --wait-idle waits for other users of the
machine to quieten before each run. --json writes the results as JSON (to stdout
with "-"; the text report then goes to stderr).
"""

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

LUA_SCRIPT = Path(__file__).with_suffix(".lua")
EMAIL = "bench-checkin@example.jp"
PASSWORD = "bench-checkin-password-0123"
USER_AGENT = "bench-checkin"  # the same for sign-in and wrk: Flask-Login hashes it
TARGET_RPS = 200.0
TARGET_P99_MS = 100.0
WARMUP_SECONDS = 5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--database-url", help="default: a fresh SQLite file in a temporary folder")
    add("--likers", type=int, default=20_000, help="demo Likers (default 20000)")
    add("--reset", action="store_true", help="empty the database first")
    add("--runs", type=int, default=3, help="measured runs (default 3)")
    add("--duration", type=int, default=20, help="seconds per wrk run (default 20)")
    add("--connections", type=int, default=8, help="wrk connections (default 8)")
    add("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    add("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    add(
        "--worker-class",
        default="sync",
        choices=("sync", "gthread"),
        help="gunicorn worker class (default sync: the lower p99 of the two here)",
    )
    add("--threads", type=int, default=4, help="threads per gthread worker (4)")
    add(
        "--repeat-every",
        type=int,
        default=10,
        help="every Nth check-in re-scans an earlier Liker (default 10; 0: never)",
    )
    add(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="before each run wait (up to 5 min) until this share of the CPU is idle,"
        " e.g. 0.9 on a machine others use too (default 0: do not wait)",
    )
    add(
        "--json",
        metavar="FILE",
        help='also write the results as JSON to FILE ("-": stdout)',
    )
    return parser.parse_args()


REPORT = sys.stdout  # stderr when --json - takes stdout


def say(*parts) -> None:
    print(*parts, file=REPORT, flush=True)


# --------------------------------------------------------------------------- set-up


def reset_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(app, likers: int, days: int) -> dict:
    """Migrate, seed, add the staff user and missing Likers, create the event days."""
    from flask_migrate import upgrade

    from crm.auth.services import create_user, find_user_by_email
    from crm.demo import add_demo_supporters
    from crm.events.services import EventData, save_event
    from crm.extensions import db
    from crm.setup_data import seed_reference_data
    from crm.supporters.models import Supporter
    from crm.timeutil import today_jst

    with app.app_context():
        upgrade()
        seed_reference_data()
        if find_user_by_email(EMAIL) is None:
            create_user(EMAIL, "Bench", "staff", PASSWORD)
        db.session.commit()
        missing = likers - db.session.scalar(select(func.count(Supporter.id)))
        if missing > 0:
            say(f"Loading {missing:,} demo Likers…")
            started = time.perf_counter()
            add_demo_supporters(missing, seed=secrets.randbelow(1_000_000))
            say(f"  loaded in {time.perf_counter() - started:.0f} s")
            analyze(db)
        first = today_jst()
        event = save_event(
            None,
            EventData(
                title=f"Check-in benchmark {time.strftime('%Y-%m-%d %H:%M:%S')}",
                days=[first + timedelta(days=n) for n in range(days)],
            ),
        )
        db.session.commit()
        prepared = {
            "day_ids": [day.id for day in sorted(event.days, key=lambda d: d.day)],
            "tokens": list(
                db.session.scalars(
                    select(Supporter.public_token)
                    .where(Supporter.status == "active")
                    .order_by(Supporter.id)
                )
            ),
            "likers": db.session.scalar(select(func.count(Supporter.id))),
            "database": database_version(db),
        }
        db.session.remove()
    return prepared


def analyze(db) -> None:
    """Fresh statistics after a bulk load, as autovacuum would gather on a live site."""
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
    else:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def database_version(db) -> str:
    if db.engine.dialect.name == "postgresql":
        return "PostgreSQL " + db.session.scalar(text("SHOW server_version")).split()[0]
    import sqlite3

    return "SQLite " + sqlite3.sqlite_version


def count_attendance(app, day_id: int) -> tuple[int, int]:
    """Attendance rows of the day and the distinct Likers among them."""
    from crm.extensions import db

    with app.app_context():
        rows, likers = db.session.execute(
            text(
                "SELECT count(*), count(DISTINCT supporter_id) FROM attendances"
                " WHERE event_day_id = :day"
            ),
            {"day": day_id},
        ).one()
        db.session.remove()
    return rows, likers


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(args: argparse.Namespace, env: dict, workdir: Path):
    """A running gunicorn on a free port; yields its URL and pid, stops it on exit."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        "--bind", f"127.0.0.1:{port}",
        "--error-logfile", str(workdir / "gunicorn.log"),
    ]  # fmt: skip
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    command.append("crm:create_app()")
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, workdir / "gunicorn.log")
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.25)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None


def sign_in(base: str, day_id: int) -> tuple[str, str]:
    """Sign in through the login form; the session cookie and its CSRF token."""
    jar = CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
    )
    opener.addheaders = [("User-Agent", USER_AGENT)]

    def fetch(path: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form else None
        try:
            with opener.open(base + path, data=data, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:  # a 302 without redirect handling
            return error.code, ""

    _status, page = fetch("/login")
    login_token = find_csrf_token(page)
    status, _page = fetch(
        "/login",
        {"email": EMAIL, "password": PASSWORD, "csrf_token": login_token, "next": ""},
    )
    if status != 302:
        raise SystemExit(f"Sign-in failed: HTTP {status}")
    # Sign-in starts a fresh session; the desk page puts a new CSRF token in it.
    status, page = fetch(f"/desk/{day_id}")
    if status != 200:
        raise SystemExit(f"Signed in, but /desk/{day_id} answers HTTP {status}")
    cookie = next((c.value for c in jar if c.name == "session"), None)
    if cookie is None:
        raise SystemExit("No session cookie after sign-in")
    return cookie, find_csrf_token(page)


def find_csrf_token(page: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page
    )
    if not match:
        raise SystemExit("No CSRF token in the page")
    return match.group(1)


# --------------------------------------------------------------------------- wrk


def run_wrk(
    args: argparse.Namespace,
    url: str,
    seconds: int,
    script_args: list[str],
    headers: tuple[str, ...] = (),
) -> dict:
    """One wrk run; the figures printed by the Lua script's done() as a dict."""
    command = [
        "wrk",
        "--threads", str(args.wrk_threads),
        "--connections", str(args.connections),
        "--duration", f"{seconds}s",
        "--latency",
        "--timeout", "10s",  # slower answers stay in the latency figures
        "--script", str(LUA_SCRIPT),
    ]  # fmt: skip
    for header in [f"User-Agent: {USER_AGENT}", *headers]:
        command += ["--header", header]
    command += [url, "--", *script_args]
    finished = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, check=False
    )
    line = next(
        (ln for ln in finished.stdout.splitlines() if ln.startswith("JSON ")), None
    )
    if finished.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed:\n{finished.stdout}\n{finished.stderr}")
    result = json.loads(line[5:])
    duration = result["duration_us"] / 1e6
    result.update(
        rps=result["requests"] / duration,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        non_2xx=result["non_2xx_3xx"],
    )
    return result


def measure_checkin(args, base, session, day_id, tokens_file, seconds) -> dict:
    """Check-ins on one day; a repeat re-sends the token of 2 x connections ago."""
    cookie, csrf_token = session
    return run_wrk(
        args,
        f"{base}/desk/{day_id}/check-in",
        seconds,
        ["checkin", str(tokens_file), str(args.wrk_threads), str(args.repeat_every),
         str(2 * args.connections)],
        [
            "Content-Type: application/x-www-form-urlencoded",
            "Accept: application/json",
            f"X-CSRFToken: {csrf_token}",
            f"Cookie: session={cookie}",
        ],
    )  # fmt: skip


def verify(app, day_id: int, result: dict, connections: int) -> dict:
    """Compare the day's attendance rows with what the answers said.

    Rows must be distinct Likers; there is one per "checked_in" answer, plus at most
    one per connection for the requests still in flight when wrk stopped.
    """
    time.sleep(1)  # let the server finish those in-flight requests
    rows, likers = count_attendance(app, day_id)
    problems = []
    if rows != likers:
        problems.append(f"{rows - likers} duplicate attendance rows")
    if not result["checked_in"] <= rows <= result["checked_in"] + connections:
        problems.append(f"{rows} rows for {result['checked_in']} checked_in answers")
    if rows > result["fresh"]:
        problems.append(f"{rows} rows but only {result['fresh']} distinct tokens sent")
    if result["wrapped"]:
        problems.append("ran out of distinct tokens: load more Likers")
    if result["other"] or result["non_2xx"] or result["socket_errors"]:
        problems.append(
            f"{result['other']} unexpected answers (first HTTP "
            f"{result['other_status']}), {result['socket_errors']} socket errors"
        )
    return {"rows": rows, "distinct_likers": likers, "problems": problems}


def benchmark(args, app, base, meter, prepared: dict, workdir: Path) -> list[dict]:
    """A warm-up on the first day, then per run: check-ins on a new day, /healthz."""
    warmup_day, *run_days = prepared["day_ids"]
    session = sign_in(base, warmup_day)
    tokens_file = workdir / "tokens.txt"
    tokens_file.write_text("\n".join(prepared["tokens"]) + "\n", "ascii")
    say(f"Warm-up: {WARMUP_SECONDS} s of each endpoint")
    measure_checkin(args, base, session, warmup_day, tokens_file, WARMUP_SECONDS)
    run_wrk(args, f"{base}/healthz", WARMUP_SECONDS, ["healthz"])
    runs = []
    for number, day_id in enumerate(run_days, 1):
        idle = wait_for_idle(args.wait_idle)
        with meter.measure() as checkin_cpu:
            checkin = measure_checkin(
                args, base, session, day_id, tokens_file, args.duration
            )
        checked = verify(app, day_id, checkin, args.connections)
        with meter.measure() as healthz_cpu:
            healthz = run_wrk(args, f"{base}/healthz", args.duration, ["healthz"])
        checkin["cpu"], healthz["cpu"] = checkin_cpu, healthz_cpu
        if healthz["other"] or healthz["socket_errors"]:
            checked["problems"].append(
                f"/healthz: {healthz['other']} unexpected answers, "
                f"{healthz['socket_errors']} socket errors"
            )
        runs.append(
            {
                "day_id": day_id,
                "checkin": checkin,
                "healthz": healthz,
                "verify": checked,
                "ratio": checkin["rps"] / healthz["rps"],
                "idle_before": idle,
            }
        )
        problems = "; ".join(checked["problems"])
        say(
            f"Run {number} (CPU idle before: {percent(idle)}): "
            f"check-in {checkin['rps']:.0f} req/s p99 {checkin['p99_ms']:.1f} ms, "
            f"/healthz {healthz['rps']:.0f} req/s p99 {healthz['p99_ms']:.1f} ms"
            + (f"  ({problems})" if problems else "")
        )
    return runs


# --------------------------------------------------------------------------- machine


def idle_share(seconds: float = 1.0) -> float | None:
    """Share of CPU time left idle over a moment (Linux), or None elsewhere."""

    def sample() -> tuple[int, int]:
        fields = [int(n) for n in Path("/proc/stat").read_text().split()[1:9]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, all

    try:
        idle, total = sample()
        time.sleep(seconds)
        idle_after, total_after = sample()
    except OSError:
        return None
    return (idle_after - idle) / max(1, total_after - total)


def wait_for_idle(wanted: float, limit: float = 300) -> float | None:
    """The idle share before a run, after waiting for it to reach wanted if asked.

    Taken while the server is idle, so whatever is busy belongs to someone else.
    """
    deadline = time.monotonic() + limit
    idle = idle_share()
    while idle is not None and idle < wanted and time.monotonic() < deadline:
        idle = idle_share(5.0)
    return idle


class CpuMeter:
    """Where the machine's CPU time goes during a wrk run (Linux /proc).

    Shares of all CPUs together: the gunicorn master and workers, PostgreSQL's
    processes, wrk, and everything else ("others": whoever else uses the machine).
    """

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.ticks_per_second = os.sysconf("SC_CLK_TCK")

    @contextmanager
    def measure(self):
        shares: dict = {}
        try:
            before = self._snapshot()
        except OSError:  # not Linux: no figures
            yield shares
            return
        yield shares
        after = self._snapshot()
        total = after["total"] - before["total"]

        def used(group: str) -> float:
            old, new = before[group], after[group]
            return sum(new[pid] - old[pid] for pid in new.keys() & old.keys())

        wrk = (after["wrk"] - before["wrk"]) * self.ticks_per_second
        shares.update(
            server=used("server") / total,
            database=used("database") / total,
            wrk=wrk / total,
        )
        busy = (after["busy"] - before["busy"]) / total
        shares["others"] = max(0.0, busy - sum(shares.values()))

    def _snapshot(self) -> dict:
        fields = [int(n) for n in Path("/proc/stat").read_text().split()[1:9]]
        server, database = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # the process has ended meanwhile
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            rest = stat[stat.rindex(")") + 2 :].split()
            parent, ticks = int(rest[1]), int(rest[11]) + int(rest[12])
            pid = int(entry.name)
            if self.server_pid in (pid, parent):
                server[pid] = ticks
            elif name == "postgres":
                database[pid] = ticks
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "busy": sum(fields) - fields[3] - fields[4],
            "total": sum(fields),
            "server": server,
            "database": database,
            "wrk": children.ru_utime + children.ru_stime,  # waited-for children
        }


def cpu_split(shares: dict) -> str:
    if not shares:
        return "?"
    return " / ".join(
        f"{shares[k]:.0%}" for k in ("server", "database", "wrk", "others")
    )


def percent(share: float | None) -> str:
    return "?" if share is None else f"{share:.0%}"


# --------------------------------------------------------------------------- report


def summarize(runs: list[dict]) -> dict:
    def median(endpoint: str, key: str) -> float:
        return statistics.median(run[endpoint][key] for run in runs)

    return {
        endpoint: {key: median(endpoint, key) for key in ("rps", "p50_ms", "p99_ms")}
        | {"non_2xx": sum(run[endpoint]["non_2xx"] for run in runs)}
        for endpoint in ("checkin", "healthz")
    } | {"ratio": statistics.median(run["ratio"] for run in runs)}


def print_report(info: dict, runs: list[dict], medians: dict) -> None:
    say()
    say(
        f"{info['database']}, {info['likers']:,} Likers; {info['server']}; "
        f"wrk {info['wrk']}; {info['cpus']} CPUs shared by server, database and wrk"
    )
    say()
    say(
        "| Run | Endpoint | req/s | p50 ms | p99 ms | non-2xx "
        "| CPU server / db / wrk / others | Check |"
    )
    say("|---|---|---:|---:|---:|---:|---|---|")
    for number, run in enumerate(runs, 1):
        for endpoint, label in (("checkin", "check-in"), ("healthz", "/healthz")):
            r = run[endpoint]
            check = "—"
            if endpoint == "checkin":
                v = run["verify"]
                check = (
                    f"{v['rows']} rows = {v['distinct_likers']} Likers, "
                    f"{r['checked_in']} new + {r['already']} already"
                )
                if v["problems"]:
                    check += ": " + "; ".join(v["problems"])
            say(
                f"| {number} | {label} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['non_2xx']} | {cpu_split(r['cpu'])} | {check} |"
            )
    say(
        "\nCPU: shares of all CPUs during each wrk run; others: the rest of the "
        "machine (other users' jobs, kernel)."
    )
    say()
    c, h = medians["checkin"], medians["healthz"]
    say(f"Medians of {len(runs)} runs:")
    say(f"  check-in  {c['rps']:7.0f} req/s  p50 {c['p50_ms']:6.1f} ms  "
        f"p99 {c['p99_ms']:6.1f} ms")  # fmt: skip
    say(f"  /healthz  {h['rps']:7.0f} req/s  p50 {h['p50_ms']:6.1f} ms  "
        f"p99 {h['p99_ms']:6.1f} ms")  # fmt: skip
    say(f"  ratio check-in / healthz: {medians['ratio']:.2f}")
    met = c["rps"] >= TARGET_RPS and c["p99_ms"] < TARGET_P99_MS
    say(
        f"Target {TARGET_RPS:.0f} check-ins/s with p99 < {TARGET_P99_MS:.0f} ms: "
        + ("met" if met else "MISSED")
    )


# --------------------------------------------------------------------------- main


def main() -> int:
    global REPORT
    args = parse_args()
    if args.json == "-":
        REPORT = sys.stderr
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-checkin-"))
    url = args.database_url or f"sqlite:///{workdir}/crm.sqlite3"
    if args.reset:
        reset_database(url)
    env = os.environ | {
        "CRM_DATABASE_URL": url,
        "CRM_SECRET_KEY": os.environ.get("CRM_SECRET_KEY") or secrets.token_hex(32),
    }
    os.environ.update(env)  # the app prepared here reads the same configuration

    from crm import create_app

    app = create_app()
    try:
        prepared = prepare(app, args.likers, days=args.runs + 1)
        info = {
            "database": prepared["database"],
            "likers": prepared["likers"],
            "cpus": os.cpu_count(),
            "server": f"gunicorn -w {args.workers} -k {args.worker_class}"
            + (f" --threads {args.threads}" if args.worker_class == "gthread" else ""),
            "wrk": f"-t {args.wrk_threads} -c {args.connections} -d {args.duration}s",
            "repeat_every": args.repeat_every,
        }
        say(f"{info['database']}, {info['likers']:,} Likers; starting {info['server']}")
        with gunicorn(args, env, workdir) as (base, server_pid):
            meter = CpuMeter(server_pid)
            runs = benchmark(args, app, base, meter, prepared, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    medians = summarize(runs)
    print_report(info, runs, medians)
    if args.json:
        document = {"info": info, "runs": runs, "medians": medians}
        if args.json == "-":
            json.dump(document, sys.stdout, indent=1)
            print()
        else:
            Path(args.json).write_text(json.dumps(document, indent=1), "utf-8")
    failed = any(run["verify"]["problems"] for run in runs)
    missed = (
        medians["checkin"]["rps"] < TARGET_RPS
        or medians["checkin"]["p99_ms"] >= TARGET_P99_MS
    )
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
