"""Benchmark the Likers export: time and memory of CSV (UTF-8, CP932) and xlsx.

Loads demo Likers with scripts/bench_supporters.py's loader (a third of them with a
business card issued), then, for each size (50,000 then 200,000 by default: the
same database grown), runs every export in a subprocess of its own: signs in with
the Flask test client, warms up with a one-row export, then POSTs the export of
all active Likers with the default columns and reads the response chunk by chunk.
A thread samples the process's RSS every 10 ms; "RSS growth" is the peak minus
the RSS just before the POST. The demo data holds 𠮷 (about one Liker in 38), so
a CP932 export first stops at the page naming those characters (the check pass,
timed on its own), then downloads with 〓 when asked.

    python scripts/bench_exports.py
    python scripts/bench_exports.py --reuse
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE crm_bench_exports'
    python scripts/bench_exports.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_exports

Without --reuse the database is emptied first (SQLite: the file is deleted;
PostgreSQL: the public schema is dropped), so never point it at one you need.
Exits 1 when an export of the largest size (CSV or xlsx) takes 20 s or more, or
grows the RSS by 100 MB or more.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_supporters import (  # noqa: E402
    prepare,
    reset_database,
    sign_in,
    versions,
)
from sqlalchemy import text  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402

TARGET_SECONDS = 20.0
TARGET_RSS_MB = 100.0
DEFAULT_URL = "sqlite:////tmp/crm-bench-exports.sqlite3"
# (label, form values): every case exports all active Likers, default columns.
CASES = [
    ("CSV UTF-8", {"format": "csv"}),
    ("CSV CP932: check pass (names 𠮷)", {"format": "csv-cp932"}),
    ("CSV CP932 with 〓", {"format": "csv-cp932", "replace": "y"}),
    ("xlsx", {"format": "xlsx"}),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument(
        "--sizes", default="50000,200000", help="Likers per step (default 50000,200000)"
    )
    parser.add_argument("--reuse", action="store_true", help="keep the database")
    parser.add_argument("--all-columns", action="store_true", help="all 30 columns")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one case, in a subprocess
    return parser.parse_args()


def make_app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": url})


def add_card_issues(app) -> None:
    """A business card for every third Liker, once (the 名刺交付日 column reads them)."""
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO issuances (supporter_id, kind, issued_at, reissue) "
                "SELECT s.id, 'card', s.created_at, :no FROM supporters s "
                "WHERE s.id % 3 = 0 AND NOT EXISTS (SELECT 1 FROM issuances i "
                "WHERE i.supporter_id = s.id AND i.kind = 'card')"
            ),
            {"no": False},
        )
        db.session.commit()
        db.session.remove()


# --------------------------------------------------------------------------- child


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSampler(threading.Thread):
    def __init__(self, interval: float = 0.01):
        super().__init__(daemon=True)
        self.interval, self.peak, self.running = interval, rss_bytes(), True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def stop(self) -> int:
        self.running = False
        self.join()
        return max(self.peak, rss_bytes())


def csrf_token(client) -> str:
    page = client.get("/exports/likers").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def run_case(url: str, case: str, all_columns: bool) -> dict:
    from crm.exports.likers import COLUMNS, DEFAULT_COLUMNS

    app = make_app(url)
    client = app.test_client()
    sign_in(client)
    form = dict(CASES)[case]
    columns = [c.key for c in COLUMNS] if all_columns else DEFAULT_COLUMNS
    data = {"csrf_token": csrf_token(client), "columns": columns, **form}
    # Warm-up: imports, templates and the first connection, with a one-row export.
    client.post("/exports/likers", data={**data, "query": "q=YL-00001"}).close()
    rss_before = rss_bytes()
    sampler = RssSampler()
    sampler.start()
    started = time.perf_counter()
    response = client.post("/exports/likers", data={**data, "query": ""})
    first_byte = None
    size = chunks = 0
    page = response.mimetype == "text/html"  # the page naming what CP932 lacks
    body = []
    for chunk in response.iter_encoded():
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        chunks += 1
        if page:
            body.append(chunk)
    response.close()
    elapsed = time.perf_counter() - started
    peak = sampler.stop()
    if response.status_code != 200:
        raise SystemExit(f"{case}: HTTP {response.status_code}")
    named = re.search(r"次の([\d,]+)文字|(\d+) characters", b"".join(body).decode())
    rows = ranges = None
    if not page:
        with app.app_context():
            details = db.session.execute(
                text("SELECT details FROM audit_entries WHERE action = 'export' "
                     "ORDER BY id DESC LIMIT 1")
            ).scalar()  # fmt: skip
            db.session.remove()
        details = json.loads(details) if isinstance(details, str) else details
        rows, ranges = details["rows"], len(details["supporter_ids"])
    return {
        "case": case,
        "seconds": elapsed,
        "first_byte": first_byte,
        "bytes": size,
        "chunks": chunks,
        "mimetype": response.mimetype,
        "rows": rows,
        "ranges_chars": ranges,
        "named": (named.group(1) or named.group(2)) if named else None,
        "rss_before_mb": rss_before / 2**20,
        "rss_growth_mb": (peak - rss_before) / 2**20,
        "columns": len(columns),
    }


# --------------------------------------------------------------------------- parent


def wait_note() -> str:
    load = os.getloadavg()
    return f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def main() -> int:
    args = parse_args()
    if args.child:
        print(json.dumps(run_case(args.database_url, args.child, args.all_columns)))
        return 0
    if not args.reuse:
        reset_database(args.database_url)
    app = make_app(args.database_url)
    results = []
    env = None
    for size in [int(s) for s in args.sizes.split(",")]:
        info = prepare(app, size)
        add_card_issues(app)
        env = env or versions(app)
        print(f"\n{env['database']}: {info['likers']:,} Likers ({wait_note()})")
        for case, _form in CASES:
            command = [sys.executable, __file__, "--child", case,
                       "--database-url", args.database_url]  # fmt: skip
            if args.all_columns:
                command.append("--all-columns")
            output = subprocess.run(
                command, check=True, capture_output=True, text=True
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            result["likers"] = info["likers"]
            results.append(result)
            print(
                f"  {case:34} {result['seconds']:6.1f} s  first byte "
                f"{(result['first_byte'] or 0):5.2f} s  RSS +{result['rss_growth_mb']:5.1f} MB"
                f"  {result['bytes'] / 2**20:6.1f} MB  rows {result['rows'] or '—'}"
                f"{'  named ' + result['named'] if result['named'] else ''}",
                flush=True,
            )
    print(
        f"\n{env['database']}, Python {env['python']}, {env['cpus']} CPUs, "
        f"{results[0]['columns']} columns ({wait_note()})\n"
    )
    print(
        "| Likers | Export | Seconds | First byte s | File MB | RSS before MB | RSS growth MB |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['likers']:,} | {r['case']} | {r['seconds']:.1f} | "
            f"{(r['first_byte'] or 0):.2f} | {r['bytes'] / 2**20:.1f} | "
            f"{r['rss_before_mb']:.0f} | {r['rss_growth_mb']:.1f} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"env": env, "results": results}, handle, ensure_ascii=False)
    largest = max(r["likers"] for r in results)
    missed = [
        r for r in results
        if r["likers"] == largest
        and (r["seconds"] >= TARGET_SECONDS or r["rss_growth_mb"] >= TARGET_RSS_MB)
    ]  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
