"""Benchmark the Likers list (search, filters, paging) and detail pages end to end.

Loads N demo Likers, signs in through the real login form with the Flask test client
and times full round trips through the app (routing, access control, queries, Jinja
templates, the audit row of a detail view). Prints the query plans (EXPLAIN QUERY PLAN
on SQLite, EXPLAIN ANALYZE on PostgreSQL) of the list and count queries of the main
search, or of every list case with --explain-all, then a markdown table. Exits 1 when
a target is missed (150 ms median for a list search, 50 ms for a detail page).

    python scripts/bench_supporters.py --likers 200000 --requests 50
    python scripts/bench_supporters.py --likers 200000 --reuse --database-url sqlite:////tmp/crm-bench.sqlite3
    python scripts/bench_supporters.py --likers 1000000 \
        --database-url postgresql+psycopg://root@127.0.0.1:5432/crm_bench

Without --reuse the database is emptied first (SQLite: the file is deleted; PostgreSQL:
the public schema is dropped and recreated), so never point it at a database you need.
"""

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402

EMAIL = "bench@example.jp"
PASSWORD = "bench-password-0123"
TARGET_LIST_MS = 150.0  # list page with a kana search, median
TARGET_DETAIL_MS = 50.0  # detail page, median
MAIN_SEARCH = "サトウ"
_TOP = "\U0010ffff"  # the upper bound of prefix ranges, shown escaped in plans

# (label, path, kind): kind "search" has the 150 ms target, "list" has none.
LIST_CASES = [
    ("search kana, half-width ｶﾅ", "/likers/?q=ﾀｶﾔﾏ", "search"),
    ("search kana, hiragana", "/likers/?q=たかはし", "search"),
    ("search kana, katakana", f"/likers/?q={MAIN_SEARCH}", "search"),
    ("search kana, 1 char", "/likers/?q=さ", "search"),
    ("search name (kanji)", "/likers/?q=佐藤", "search"),
    ("search name, variant 高橋→髙橋", "/likers/?q=高橋", "search"),
    ("search phone fragment", "/likers/?q=090-12", "search"),
    ("search number", "/likers/?q=YL-00123", "search"),
    ("search email prefix", "/likers/?q=sato.hiroto", "search"),
    ("list, page 1", "/likers/", "list"),
    ("list, page 2000", "/likers/?page=2000", "list"),
    ("filter residence", "/likers/?residence=outside_prefecture", "list"),
    ("filter category", "/likers/?category={category}", "list"),
    (
        "filter residence+category+kana",
        "/likers/?q=さとう&residence=outside_prefecture&category={category}",
        "search",
    ),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="default: a fresh SQLite file under /tmp"
    )
    parser.add_argument(
        "--likers", type=int, default=200_000, help="number of Likers (default 200000)"
    )
    parser.add_argument(
        "--requests", type=int, default=50, help="timed requests per case (default 50)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="untimed requests per case first (default 3)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database; load only what is missing",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed for the detail ids"
    )
    parser.add_argument(
        "--explain-all", action="store_true", help="print the plans of every list case"
    )
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args()


# --------------------------------------------------------------------------- set-up


def reset_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                try:
                    os.remove(parsed.database + suffix)
                except FileNotFoundError:
                    pass
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(app, likers: int) -> dict:
    """Migrate, seed, create the staff user, load the missing Likers, ANALYZE."""
    from flask_migrate import upgrade

    from crm.auth.services import create_user, find_user_by_email
    from crm.demo import add_demo_supporters
    from crm.setup_data import seed_reference_data
    from crm.supporters.models import Supporter

    info: dict = {}
    with app.app_context():
        upgrade()
        seed_reference_data()
        if find_user_by_email(EMAIL) is None:
            create_user(EMAIL, "Bench", "staff", PASSWORD)
        db.session.commit()
        existing = db.session.scalar(select(func.count()).select_from(Supporter))
        missing = likers - existing
        info["existing"] = existing
        if missing > 0:
            print(
                f"Loading {missing:,} Likers ({existing:,} already there)…", flush=True
            )
            loaded = 0
            started = time.perf_counter()
            next_report = 50_000

            def progress(n: int) -> None:
                nonlocal loaded, next_report
                loaded += n
                if loaded >= next_report or loaded == missing:
                    elapsed = time.perf_counter() - started
                    print(
                        f"  {loaded:>9,} rows  {elapsed:7.1f} s  {loaded / elapsed:8,.0f} rows/s",
                        flush=True,
                    )
                    next_report += 50_000

            add_demo_supporters(missing, seed=2018 + existing, progress=progress)
            elapsed = time.perf_counter() - started
            info.update(
                loaded=missing, load_seconds=elapsed, load_rate=missing / elapsed
            )
            print(
                f"Loaded {missing:,} Likers in {elapsed:.1f} s ({missing / elapsed:,.0f} rows/s)"
            )
        else:
            print(f"Reusing {existing:,} Likers (wanted {likers:,}): no loading.")
        db.session.remove()
        started = time.perf_counter()
        if db.engine.dialect.name == "postgresql":
            # VACUUM also sets the visibility map (index-only scans), as autovacuum
            # would on a live database after an insert-only load.
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.execute(text("VACUUM (ANALYZE)"))
            info["analyze"] = "VACUUM (ANALYZE)"
        else:
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
            info["analyze"] = "ANALYZE"
        info["analyze_seconds"] = time.perf_counter() - started
        print(f"{info['analyze']} took {info['analyze_seconds']:.1f} s")
        info["likers"] = db.session.scalar(select(func.count()).select_from(Supporter))
        db.session.remove()
    return info


# --------------------------------------------------------------------------- timing


class SqlCounter:
    """Statements sent during a request and the time spent in cursor.execute.

    On SQLite execute() returns at the first row, so a sort is included but the
    rest of the fetch is not: read the "SQL ms" column as a lower bound.
    """

    def __init__(self, engine):
        self.reset()
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self._started = time.perf_counter()

    def _after(self, _conn, _cursor, statement, parameters, *_args):
        self.seconds += time.perf_counter() - self._started
        self.count += 1
        self.statements.append((statement, parameters))

    def reset(self):
        self.count, self.seconds, self.statements = 0, 0.0, []


def sign_in(client) -> None:
    page = client.get("/login")
    match = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', page.text
    ) or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    if not match:
        raise SystemExit("No csrf_token in the login form")
    response = client.post(
        "/login",
        data={"csrf_token": match.group(1), "email": EMAIL, "password": PASSWORD},
    )
    if response.status_code != 302:
        raise SystemExit(f"Sign-in failed: HTTP {response.status_code}")
    if client.get("/likers/").status_code != 200:
        raise SystemExit("Signed in, but the Likers list does not answer 200")


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def measure(client, counter: SqlCounter, paths, warmup: int) -> dict:
    """Times one GET per path (after warm-up GETs); paths is a list of URLs."""
    for path in paths[:warmup]:
        client.get(path)
    times, sql_times, statements, found = [], [], [], None
    for path in paths[warmup:]:
        counter.reset()
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        times.append(elapsed * 1000)
        sql_times.append(counter.seconds * 1000)
        statements.append(counter.count)
        match = re.search(r'id="result-count">([^<]*)<', response.text)
        if match:
            found = match.group(1).strip()
    return {
        "median": statistics.median(times),
        "p95": percentile(times, 95),
        "max": max(times),
        "sql_median": statistics.median(sql_times),
        "statements": statistics.median(statements),
        "found": found,
        "n": len(times),
    }


# --------------------------------------------------------------------------- plans


def explain(app, client, counter: "SqlCounter", path: str) -> str:
    """Plans of the list and count queries that one GET of path really sends.

    The statements are captured from the request and explained with the very same
    bound parameters: SQLite plans differently when, e.g., LIMIT is a parameter.
    """
    counter.reset()
    client.get(path)
    captured = [
        (statement, parameters)
        for statement, parameters in counter.statements
        if "FROM supporters" in statement
        and (statement.startswith("SELECT count(*)") or " LIMIT " in statement)
    ]
    lines = []
    with app.app_context():
        connection = db.session.connection()
        postgresql = connection.dialect.name == "postgresql"
        for statement, parameters in captured:
            shown = re.sub(
                r"SELECT supporters\.id(?: AS id)?, .*?(\s+FROM)",
                r"SELECT supporters.id, …\1",
                statement,
                flags=re.S,
            )
            lines.append(f"{shown}\n-- parameters: {parameters!r}")
            if postgresql:
                prefix = "EXPLAIN (ANALYZE, BUFFERS) "
                rows = connection.exec_driver_sql(prefix + statement, parameters).all()
                lines.extend(row[0].replace(_TOP, "\\U0010ffff") for row in rows)
            else:
                started = time.perf_counter()
                connection.exec_driver_sql(statement, parameters).all()
                elapsed = (time.perf_counter() - started) * 1000
                prefix = "EXPLAIN QUERY PLAN "
                rows = connection.exec_driver_sql(prefix + statement, parameters).all()
                depth = {0: -1}
                for node_id, parent, _unused, detail in rows:
                    depth[node_id] = depth.get(parent, -1) + 1
                    lines.append("  " * depth[node_id] + "|-- " + detail)
                lines.append(f"-- ran in {elapsed:.1f} ms")
            lines.append("")
        db.session.rollback()
        db.session.remove()
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def versions(app) -> dict:
    import platform
    import sqlite3

    import sqlalchemy

    result = {
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "cpus": os.cpu_count(),
    }
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            result["database"] = "SQLite " + sqlite3.sqlite_version
        else:
            version = db.session.scalar(text("SHOW server_version"))
            result["database"] = "PostgreSQL " + version.split()[0]
        db.session.remove()
    return result


def main() -> int:
    args = parse_args()
    url = (
        args.database_url
        or f"sqlite:///{tempfile.gettempdir()}/crm-bench-{args.likers}.sqlite3"
    )
    if not args.reuse:
        reset_database(url)
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": url})
    info = prepare(app, args.likers)
    env = versions(app)
    print(
        f"{env['database']}, Python {env['python']}, {env['cpus']} CPUs, {info['likers']:,} Likers"
    )

    with app.app_context():
        from crm.supporters.models import Category, Supporter

        category = db.session.scalar(
            select(Category.id).order_by(Category.position).limit(1)
        )
        low, high = db.session.execute(
            select(func.min(Supporter.id), func.max(Supporter.id))
        ).one()
        counter = SqlCounter(db.engine)
        db.session.remove()

    rng = random.Random(args.seed)
    total = args.warmup + args.requests
    results = []
    client = app.test_client()
    sign_in(client)
    for label, path, kind in LIST_CASES:
        path = path.format(category=category)
        result = measure(client, counter, [path] * total, args.warmup)
        result.update(label=label, path=path, kind=kind)
        results.append(result)
        print(
            f"{label:34} {result['median']:8.1f} ms median {result['p95']:8.1f} p95  ({result['found']})",
            flush=True,
        )
    detail_paths = [f"/likers/{rng.randint(low, high)}" for _ in range(total)]
    result = measure(client, counter, detail_paths, args.warmup)
    result.update(label="detail page (random ids)", path="/likers/<id>", kind="detail")
    results.append(result)
    print(
        f"{result['label']:34} {result['median']:8.1f} ms median {result['p95']:8.1f} p95",
        flush=True,
    )

    explained = [
        c for c in LIST_CASES if args.explain_all or c[1].endswith(MAIN_SEARCH)
    ]
    for label, path, _kind in explained:
        path = path.format(category=category)
        print(f"\n## Query plans: {label} ({path})\n")
        print(explain(app, client, counter, path))

    print(f"\n{env['database']}, {info['likers']:,} Likers, {args.requests} requests per case "
          f"after {args.warmup} warm-up, Python {env['python']}, {env['cpus']} CPUs")  # fmt: skip
    if info.get("loaded"):
        print(
            f"Load: {info['loaded']:,} Likers in {info['load_seconds']:.0f} s = {info['load_rate']:,.0f} rows/s"
        )
    print()
    print(
        "| Case | URL | Found | Median ms | p95 ms | Max ms | SQL ms (median) | Statements | Target |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        target = {"search": TARGET_LIST_MS, "detail": TARGET_DETAIL_MS}.get(r["kind"])
        verdict = (
            "—"
            if target is None
            else f"{target:.0f} ms: {'met' if r['median'] < target else 'MISSED'}"
        )
        print(
            f"| {r['label']} | `{r['path']}` | {r['found'] or '—'} | {r['median']:.1f} | {r['p95']:.1f} | "
            f"{r['max']:.1f} | {r['sql_median']:.1f} | {r['statements']:.0f} | {verdict} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"env": env, "load": info, "results": results},
                handle,
                ensure_ascii=False,
                indent=1,
            )
    missed = [
        r for r in results
        if (r["kind"] == "search" and r["median"] >= TARGET_LIST_MS)
        or (r["kind"] == "detail" and r["median"] >= TARGET_DETAIL_MS)
    ]  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
