"""Benchmark the ministry report (crm.reports.queries.compute_report) at scale.

Builds 200,000 Likers with scripts/bench_supporters.py's loader (demo Likers, bulk
INSERTs), spreads their registration dates over five and a half years, withdraws
and merges a few, then adds with bulk INSERTs: 2,000 events over five years (1–3
days each, five themes, some cancelled, some still planned; entered up to four
months ahead, so ids mostly follow the dates, 5 % back-filled), 1,000,000 attendance
rows (each day's Likers drawn from those registered by then, half of the draws from
a tenth of the Likers: the regulars), walk-in counts and named guests per day
(some of them later registered), twelve hometown societies with their members,
and cards and certificates in the issuance ledger.

Then times compute_report() for the current fiscal year (as of today) and for the
previous one (as of its last day): one warm-up, then the median of 3 runs, the
whole report and each of its parts (liker_figures; event_figures, which counts
all events, each theme and each event in one go; society_figures), inside a GET
request context as the report page runs. --explain prints the plan of every
statement of the report with its time to the first row (EXPLAIN (ANALYZE,
BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).

    python scripts/bench_report.py                     # SQLite file under /tmp
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE crm_bench_report'
    python scripts/bench_report.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_report
    python scripts/bench_report.py --reuse --wait-quiet --explain

Without --reuse the database is emptied first (SQLite: the file is deleted;
PostgreSQL: the public schema is dropped). Exits 1 when a report takes 2 s or more
on SQLite, or 1 s or more on PostgreSQL.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from bisect import bisect_right
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_supporters import prepare, reset_database, versions  # noqa: E402
from sqlalchemy import event, func, insert, select, text  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402

DEFAULT_URL = "sqlite:////tmp/crm-bench-report.sqlite3"
TARGETS = {"sqlite": 2.0, "postgresql": 1.0}  # seconds, the whole report
SOCIETIES = (
    "東京夕張会", "札幌ゆうばり会", "関西夕張会", "名古屋夕張会", "仙台ゆうばり会",
    "福岡夕張会", "横浜夕張会", "さいたま夕張会", "千葉夕張会", "沖縄ゆうばり会",
    "江別夕張会", "海外ゆうばり会",
)  # fmt: skip
EVENT_TITLES = (
    "炭鉱の記憶を語る会", "集落の草刈りボランティア", "夕張メロン収穫体験", "移住相談会",
    "子ども科学教室", "映画祭ボランティア", "東京ふるさと交流会", "雪かき応援隊",
    "歴史散歩", "オンライン座談会",
)  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--likers", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--attendances", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs (median)")
    parser.add_argument("--reuse", action="store_true", help="keep the database")
    parser.add_argument(
        "--wait-quiet",
        action="store_true",
        help="before timing, wait until no bench_exports runs and the load is < 1.0",
    )
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args()


# --------------------------------------------------------------------------- data


def spread_registrations(rng: random.Random, today: date) -> None:
    """Registration dates over 5.5 years; 3 % withdrawn later, 0.5 % merged."""
    from crm.supporters.models import Supporter

    ids = list(db.session.scalars(select(Supporter.id).order_by(Supporter.id)))
    first = today - timedelta(days=int(365.25 * 5.5))
    span = (today - first).days
    rows, statuses = [], []
    for supporter_id in ids:
        registered = first + timedelta(days=int(span * rng.random() ** 0.8))
        row = {"i": supporter_id, "r": registered, "w": None, "s": "active", "m": None}
        roll = rng.random()
        if roll < 0.03:
            withdrawn = registered + timedelta(days=rng.randint(1, 900))
            if withdrawn <= today:
                row.update(w=withdrawn, s="withdrawn")
        elif roll < 0.035:
            row.update(s="merged", m=rng.choice(ids))
        rows.append(row)
        statuses.append(row["s"])
    statement = text(
        "UPDATE supporters SET registered_on = :r, withdrawn_on = :w, status = :s, "
        "merged_into_id = :m WHERE id = :i"
    )
    for start in range(0, len(rows), 10_000):
        db.session.execute(statement, rows[start : start + 10_000])
    db.session.commit()


def build_events(args, rng: random.Random, today: date) -> None:
    """Events, days, attendance, walk-ins, guests, societies and the ledger."""
    from crm.documents.models import Issuance
    from crm.events.models import (
        Attendance,
        Event,
        EventDay,
        Guest,
        Theme,
        WalkInCount,
    )
    from crm.societies.models import Society, SocietyMembership
    from crm.supporters.models import Supporter

    started = time.perf_counter()
    themes = list(db.session.scalars(select(Theme.id).order_by(Theme.id)))
    likers = db.session.execute(
        select(Supporter.id, Supporter.registered_on)
        .where(Supporter.status != "merged")
        .order_by(Supporter.registered_on, Supporter.id)
    ).all()
    liker_ids = [row.id for row in likers]
    registered = [row.registered_on for row in likers]
    regular = {i for i in liker_ids if rng.random() < 0.1}
    regular_ids = [i for i in liker_ids if i in regular]  # same order: by registration
    regular_dates = [
        d for i, d in zip(liker_ids, registered, strict=True) if i in regular
    ]

    # Events: five years back and two months ahead; 3 % cancelled.
    first = today - timedelta(days=365 * 5)
    span = (today + timedelta(days=60) - first).days
    events, days = [], []
    for n in range(args.events):
        start = first + timedelta(days=rng.randrange(span))
        status = "planned" if start > today else "held"
        if rng.random() < 0.03:
            status = "cancelled"
        events.append(
            {
                "title": f"{rng.choice(EVENT_TITLES)} 第{n + 1}回",
                "theme_id": rng.choice(themes) if rng.random() < 0.9 else None,
                "kind": rng.choice(("event", "workshop", "tour", "pr")),
                "location": rng.choice(("in_town", "in_town", "outside", "online")),
                "status": status,
                "first_day": start,
            }
        )
    # Entered when planned, up to four months ahead, so ids mostly follow the
    # dates; 5 % typed in afterwards (a paper list back-filled).
    entered = {
        id(e): e["first_day"] - timedelta(days=rng.randint(0, 120))
        if rng.random() >= 0.05
        else today + timedelta(days=rng.random())
        for e in events
    }
    events.sort(key=lambda e: entered[id(e)])
    event_ids = db.session.scalars(
        insert(Event).returning(Event.id, sort_by_parameter_order=True), events
    ).all()
    for event_id, values in zip(event_ids, events, strict=True):
        length = rng.choice((1, 1, 1, 2, 2, 3))
        for offset in range(length):
            days.append(
                {"event_id": event_id, "day": values["first_day"] + timedelta(offset)}
            )
    day_ids = db.session.scalars(
        insert(EventDay).returning(EventDay.id, sort_by_parameter_order=True), days
    ).all()
    db.session.commit()
    print(f"  {len(event_ids):,} events, {len(day_ids):,} days", flush=True)

    # Attendance: day sizes drawn around the mean, half the draws among regulars.
    weights = [rng.lognormvariate(0, 0.8) for _ in day_ids]
    scale = args.attendances / sum(weights)
    sizes = [max(1, round(w * scale)) for w in weights]
    checked_at = datetime.combine(today, datetime.min.time())
    batch, written = [], 0
    statement = insert(Attendance)
    for day_id, values, size in zip(day_ids, days, sizes, strict=True):
        day = values["day"]
        pool = bisect_right(registered, day)
        regulars = bisect_right(regular_dates, day)
        if pool == 0:
            continue
        size = min(size, pool // 2 or 1, args.attendances - written)
        chosen: set[int] = set()
        while len(chosen) < size:
            if regulars and rng.random() < 0.5:
                chosen.add(regular_ids[rng.randrange(regulars)])
            else:
                chosen.add(liker_ids[rng.randrange(pool)])
        for supporter_id in chosen:
            batch.append(
                {
                    "event_day_id": day_id,
                    "supporter_id": supporter_id,
                    "role": "participant",
                    "checked_in_at": checked_at,
                    "method": "scan",
                }
            )
        written += len(chosen)
        if len(batch) >= 20_000:
            db.session.execute(statement, batch)
            db.session.commit()
            batch.clear()
    if batch:
        db.session.execute(statement, batch)
        db.session.commit()
    print(f"  {written:,} attendance rows", flush=True)

    walk_ins, guests = [], []
    for day_id in day_ids:
        for group in ("citizen", "visitor"):
            if rng.random() < 0.8:
                walk_ins.append(
                    {
                        "event_day_id": day_id,
                        "group": group,
                        "count": rng.randint(0, 60),
                    }
                )
        for _ in range(rng.randint(0, 6)):
            later = rng.random() < 0.2
            guests.append(
                {
                    "event_day_id": day_id,
                    "group": rng.choice(("citizen", "visitor")),
                    "name": "ゲスト",
                    "supporter_id": liker_ids[rng.randrange(len(liker_ids))]
                    if later
                    else None,
                }
            )
    db.session.execute(insert(WalkInCount), walk_ins)
    db.session.execute(insert(Guest), guests)

    society_ids = db.session.scalars(
        insert(Society).returning(Society.id, sort_by_parameter_order=True),
        [{"name": name} for name in SOCIETIES],
    ).all()
    memberships = [
        {"society_id": rng.choice(society_ids), "supporter_id": supporter_id}
        for supporter_id in liker_ids
        if rng.random() < 0.08
    ]
    db.session.execute(insert(SocietyMembership), memberships)

    issued, noon = [], time_of_day(3)  # 12:00 in Japan, as naive UTC
    for supporter_id, day in zip(liker_ids, registered, strict=True):
        for kind, share in (("card", 0.45), ("certificate", 0.3)):
            if rng.random() < share:
                when = datetime.combine(day + timedelta(rng.randint(0, 60)), noon)
                issued.append(
                    {"supporter_id": supporter_id, "kind": kind, "issued_at": when,
                     "reissue": False}
                )  # fmt: skip
                if rng.random() < 0.05:
                    issued.append(
                        {"supporter_id": supporter_id, "kind": kind,
                         "issued_at": when + timedelta(days=200), "reissue": True}
                    )  # fmt: skip
    for start in range(0, len(issued), 20_000):
        db.session.execute(insert(Issuance), issued[start : start + 20_000])
    db.session.commit()
    print(
        f"  {len(walk_ins):,} walk-in counts, {len(guests):,} guests, "
        f"{len(memberships):,} memberships in {len(society_ids)} societies, "
        f"{len(issued):,} issuances ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )


def analyze() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
    else:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def build(app, args) -> dict:
    from crm.events.models import Attendance, Event
    from crm.timeutil import today_jst

    info = prepare(app, args.likers)
    with app.app_context():
        if db.session.scalar(select(func.count()).select_from(Event)):
            print("Events already there: reusing them.")
        else:
            rng = random.Random(args.seed)
            today = today_jst()
            print("Spreading registrations, building events…", flush=True)
            spread_registrations(rng, today)
            build_events(args, rng, today)
            analyze()
        info["attendances"] = db.session.scalar(
            select(func.count()).select_from(Attendance)
        )
        info["events"] = db.session.scalar(select(func.count()).select_from(Event))
        db.session.remove()
    return info


# --------------------------------------------------------------------------- timing


def wait_quiet(limit: float = 1.0, poll: float = 30.0) -> str:
    """Wait until no export benchmark runs and the 1-minute load is below limit."""
    waited = 0.0
    while True:
        busy = subprocess.run(
            ["pgrep", "-f", "bench_exports"], capture_output=True
        ).returncode == 0  # fmt: skip
        load = os.getloadavg()[0]
        if not busy and load < limit:
            note = f"quiet after {waited:.0f} s wait (load {load:.2f})"
            print(note, flush=True)
            return note
        print(f"  waiting: bench_exports running={busy}, load {load:.2f}", flush=True)
        time.sleep(poll)
        waited += poll


class Statements:
    def __init__(self, engine):
        self.active, self.captured, self._started = False, [], 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self._started = time.perf_counter()

    def _after(self, _conn, _cursor, statement, parameters, *_args):
        if self.active:
            elapsed = time.perf_counter() - self._started
            self.captured.append((statement, parameters, elapsed))


def timed(function, runs: int) -> tuple[float, list[float]]:
    function()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
        db.session.rollback()
    return statistics.median(times), times


def periods(today: date) -> list[tuple[str, date, date, date]]:
    from crm.reports.queries import fiscal_year, fiscal_year_of

    year = fiscal_year_of(today)
    current = fiscal_year(year)
    past = fiscal_year(year - 1)
    return [
        (f"FY{year} (current, as of today)", *current, today),
        (f"FY{year - 1} (past, as of its last day)", *past, past[1]),
    ]


def explain(statements: Statements, postgresql: bool) -> None:
    connection = db.session.connection()
    if postgresql:  # as the report's parts run (crm.reports.queries._in_snapshot)
        connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    for statement, parameters, elapsed in statements.captured:
        print(
            f"\n-- {elapsed * 1000:.1f} ms\n{statement}\n-- parameters: {parameters!r}"
        )
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue  # SET TRANSACTION SNAPSHOT and the like: nothing to explain
        if postgresql:
            rows = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
            ).all()
            for (line,) in rows:
                print(line)
        else:
            rows = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters
            ).all()
            depth = {0: -1}
            for node_id, parent, _unused, detail in rows:
                depth[node_id] = depth.get(parent, -1) + 1
                print("  " * depth[node_id] + "|-- " + detail)
    db.session.rollback()


def measure(app, args) -> list[dict]:
    from crm.reports import queries
    from crm.timeutil import today_jst

    results = []
    # A GET request, as the report page: on SQLite the transaction is DEFERRED and
    # takes no write lock (CLI commands and POSTs begin IMMEDIATE).
    with app.test_request_context("/reports/"):
        statements = Statements(db.engine)
        postgresql = db.engine.dialect.name == "postgresql"
        for label, start, end, as_of in periods(today_jst()):
            period = queries.Period(start, end, as_of)
            parts = {
                "liker_figures": lambda p=period: queries.liker_figures(p),
                "event_figures": lambda p=period: queries.event_figures(p),
                "society_figures": lambda p=period: queries.society_figures(p),
            }
            whole = lambda s=start, e=end, a=as_of: queries.compute_report(s, e, a)  # noqa: E731
            median, runs = timed(whole, args.runs)
            report = whole().as_dict()
            result = {
                "label": label,
                "period": f"{start} – {end}, as of {as_of}",
                "report": median,
                "runs": runs,
                "parts": {},
                "figures": {
                    key: report["events"][key]
                    for key in ("count", "days", "participations_total",
                                "participations_likers", "unique_likers",
                                "first_time_likers")
                } | {"registered": report["likers"]["registered"],
                     "events_listed": len(report["by_event"])},
            }  # fmt: skip
            for name, function in parts.items():
                result["parts"][name] = timed(function, args.runs)[0]
            print(
                f"{label}: report {median * 1000:.0f} ms "
                f"({', '.join(f'{t * 1000:.0f}' for t in runs)}); "
                + ", ".join(f"{n} {t * 1000:.0f}" for n, t in result["parts"].items()),
                flush=True,
            )
            print(f"  figures: {result['figures']}", flush=True)
            results.append(result)
            if args.explain:
                statements.captured, statements.active = [], True
                whole()
                statements.active = False
                print(f"\n## Statements of the report, {label}")
                explain(statements, postgresql)
        db.session.remove()
    return results


def main() -> int:
    args = parse_args()
    if not args.reuse:
        reset_database(args.database_url)
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": args.database_url}
    )
    info = build(app, args)
    env = versions(app)
    quiet = wait_quiet() if args.wait_quiet else "not checked"
    results = measure(app, args)
    dialect = "postgresql" if env["database"].startswith("PostgreSQL") else "sqlite"
    target = TARGETS[dialect]
    print(
        f"\n{env['database']}, {info['likers']:,} Likers, {info['attendances']:,} "
        f"attendance rows, {info['events']:,} events; Python {env['python']}, "
        f"{env['cpus']} CPUs; {quiet}; median of {args.runs} after one warm-up\n"
    )
    print("| period | report s (runs) | liker_figures | event_figures (3 levels) "
          "| society_figures | target |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---|")
    for r in results:
        p = r["parts"]
        verdict = "met" if r["report"] < target else "MISSED"
        print(
            f"| {r['label']} | {r['report']:.2f} "
            f"({', '.join(f'{t:.2f}' for t in r['runs'])}) "
            + " ".join(f"| {t:.2f}" for t in p.values())
            + f" | {target:.0f} s: {verdict} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"env": env, "data": info, "quiet": quiet, "results": results},
                handle,
                ensure_ascii=False,
                indent=1,
                default=str,
            )
    return 1 if any(r["report"] >= target for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
