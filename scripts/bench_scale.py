"""EXPLAIN the queries users wait on, on PostgreSQL at 1,000,000 Likers.

Builds (or with --reuse reuses) a database migrated to --revision (default: head)
holding 1,000,000 Likers and 10,000,000 attendance rows: Japanese names with their
search keys as the app writes them (crm.japanese), variant kanji (髙橋, 﨑, 𠮷),
every residence and status (active, withdrawn, merged, pending, rejected, stopped,
erased), categories, tags, twelve hometown societies, 20,000 events of 1–3 days
with a few hundred check-ins each (a tenth of the Likers are regulars), walk-ins,
guests, cards and certificates in the issuance ledger, consent records. Built
with set-based SQL (INSERT … SELECT FROM generate_series), triggers off and the
secondary indexes dropped during the load and rebuilt after it, then the derived
columns (first_participated_on, card_issued_at, certificate_issued_at) are filled
as the triggers of migration 0009 would have, and VACUUM ANALYZE.

Then sends the app's own requests (Flask's test client, signed in as an admin):
the Likers list with its sorts, page 2000 and every filter, the searches (kana,
name, number, email, phone), the stopped list, a Liker's page, an event page, the
desk (page, status, check-in by QR token and by number, kana look-up) and the
ministry report. A hook captures every statement with its parameters; each is then
run under EXPLAIN (ANALYZE, BUFFERS), after a warm-up, --runs times, in a
transaction rolled back (the check-ins are undone first, so their INSERT inserts).
Prints per request its time, the statements' time and pages, and a plan summary
(a Seq Scan on a big table or a big sort is flagged), and writes every plan with
its SQL to --plans (outside the repo). A statement timeout (--timeout) keeps a
runaway plan from stalling the run.

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE crm_bench_scale'
    nice python scripts/bench_scale.py --revision 0012 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_scale
    python scripts/bench_scale.py --reuse --plans /tmp/plans-after.txt \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_scale

--reuse upgrades the database to --revision first (so a new migration's indexes
are built on the loaded data) and measures again: before/after in one database.
"""

import argparse
import json
import logging
import math
import re
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import bindparam, create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.japanese import kana_key, name_key  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_scale"
BIG_TABLES = (
    "supporters",
    "attendances",
    "supporter_categories",
    "supporter_tags",
    "society_memberships",
    "issuances",
    "consent_records",
)
# Tables whose secondary indexes are dropped during the load and rebuilt after.
LOADED_TABLES = (
    "supporters",
    "attendances",
    "supporter_categories",
    "supporter_tags",
    "society_memberships",
    "issuances",
    "consent_records",
    "event_days",
    "events",
    "guests",
)

# (family name, kana), the first ones far more common, as in a real register.
FAMILY_NAMES = (
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
    ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
    ("阿部", "アベ"), ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"),
    ("石井", "イシイ"), ("小川", "オガワ"), ("前田", "マエダ"), ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("近藤", "コンドウ"),
    ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
    ("斉藤", "サイトウ"), ("福田", "フクダ"), ("太田", "オオタ"), ("西村", "ニシムラ"),
    ("藤井", "フジイ"), ("岡本", "オカモト"), ("藤原", "フジワラ"), ("金子", "カネコ"),
    ("三浦", "ミウラ"), ("中野", "ナカノ"), ("原田", "ハラダ"), ("松田", "マツダ"),
    ("竹内", "タケウチ"), ("小野", "オノ"), ("田村", "タムラ"), ("中山", "ナカヤマ"),
    ("和田", "ワダ"), ("石田", "イシダ"), ("森田", "モリタ"), ("上田", "ウエダ"),
    ("髙橋", "タカハシ"), ("山﨑", "ヤマサキ"), ("𠮷田", "ヨシダ"), ("渡邊", "ワタナベ"),
    ("齋藤", "サイトウ"), ("澤田", "サワダ"), ("濱田", "ハマダ"), ("嶋田", "シマダ"),
    ("夕張", "ユウバリ"), ("炭谷", "スミタニ"), ("鹿島", "カシマ"), ("清水沢", "シミズサワ"),
)  # fmt: skip
GIVEN_NAMES = (
    ("太郎", "タロウ"), ("花子", "ハナコ"), ("翔", "ショウ"), ("陽菜", "ヒナ"),
    ("大翔", "ヒロト"), ("結衣", "ユイ"), ("蓮", "レン"), ("葵", "アオイ"),
    ("悠真", "ユウマ"), ("さくら", "サクラ"), ("健一", "ケンイチ"), ("恵子", "ケイコ"),
    ("誠", "マコト"), ("洋子", "ヨウコ"), ("浩", "ヒロシ"), ("幸子", "サチコ"),
    ("修", "オサム"), ("美穂", "ミホ"), ("隆", "タカシ"), ("由美", "ユミ"),
    ("一郎", "イチロウ"), ("直子", "ナオコ"), ("拓也", "タクヤ"), ("真由美", "マユミ"),
    ("大輔", "ダイスケ"), ("智子", "トモコ"), ("和也", "カズヤ"), ("久美子", "クミコ"),
    ("剛", "ツヨシ"), ("明美", "アケミ"), ("渚", "ナギサ"), ("﨑子", "サキコ"),
    ("進", "ススム"), ("千尋", "チヒロ"), ("湊", "ミナト"), ("芽依", "メイ"),
    ("陸", "リク"), ("凛", "リン"), ("颯太", "ソウタ"), ("美咲", "ミサキ"),
)  # fmt: skip
PREFECTURES = ("北海道", "東京都", "神奈川県", "埼玉県", "千葉県", "大阪府", "愛知県",
               "福岡県", "宮城県", "兵庫県")  # fmt: skip
TAGS = ("写真展", "炭鉱遺産", "メロン", "映画祭", "スキー", "ボランティア", "移住相談",
        "ふるさと納税", "SNS発信", "子育て", "高校同窓", "企業版寄附", "首都圏", "関西",
        "海外", "学生", "シニア", "家族参加", "リピーター", "要フォロー")  # fmt: skip
SOCIETIES = (
    "東京夕張会", "札幌ゆうばり会", "関西夕張会", "名古屋夕張会", "仙台ゆうばり会",
    "福岡夕張会", "横浜夕張会", "さいたま夕張会", "千葉夕張会", "沖縄ゆうばり会",
    "江別夕張会", "海外ゆうばり会",
)  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded data")
    parser.add_argument("--revision", default="head", help="migrate to this first")
    parser.add_argument("--likers", type=int, default=1_000_000)
    parser.add_argument("--attendances", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="EXPLAIN runs, median")
    parser.add_argument("--plans", default="/tmp/crm-bench-scale-plans.txt")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--only", help="only the queries whose name contains this")
    parser.add_argument(
        "--timeout", type=int, default=30, help="statement timeout, seconds"
    )
    return parser.parse_args()


# --------------------------------------------------------------------------- build


def reset_schema(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@contextmanager
def step(label: str, timings: dict):
    start = time.perf_counter()
    print(f"  {label} …", flush=True)
    yield
    timings[label] = round(time.perf_counter() - start, 1)
    print(f"  {label}: {timings[label]} s", flush=True)


def _name_rows(names, given: bool) -> list[dict]:
    return [
        {
            "i": i,
            "name": kanji,
            "kana": kana,
            "name_key": name_key(kanji),
            "kana_key": kana_key(kana),
        }
        for i, (kanji, kana) in enumerate(names)
    ]


def secondary_indexes(connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX …) of the indexes not behind a constraint."""
    rows = connection.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i"
            " WHERE i.schemaname = 'public' AND i.tablename = :table"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            "   WHERE c.conname = i.indexname)"
        ),
        {"table": table},
    )
    return [tuple(row) for row in rows]


def load(connection, args, timings: dict) -> list[str]:  # noqa: PLR0915
    """The set-based load, in one transaction with triggers off; returns the
    CREATE INDEX statements of the indexes it dropped."""
    likers, events = args.likers, args.events
    cursor = connection.connection.cursor()  # psycopg: no parameters, % is modulo

    def run(sql: str):
        cursor.execute(sql)
        return cursor

    run("SET session_replication_role = replica")  # no triggers, no FK checks
    run("SET work_mem = '256MB'")
    run("SET maintenance_work_mem = '1GB'")
    dropped = []
    for table in LOADED_TABLES:
        for name, definition in secondary_indexes(connection, table):
            run(f"DROP INDEX {name}")
            dropped.append(definition)

    run("CREATE TEMP TABLE family (i int, name text, kana text, name_key text,"
        " kana_key text)")  # fmt: skip
    run("CREATE TEMP TABLE given (i int, name text, kana text, name_key text,"
        " kana_key text)")  # fmt: skip
    for table, names in (("family", FAMILY_NAMES), ("given", GIVEN_NAMES)):
        connection.execute(
            text(
                f"INSERT INTO {table} VALUES (:i, :name, :kana, :name_key, :kana_key)"
            ),
            _name_rows(names, table == "given"),
        )
    nf, ng = len(FAMILY_NAMES), len(GIVEN_NAMES)
    prefectures = "ARRAY[" + ",".join(f"'{p}'" for p in PREFECTURES) + "]"
    today = date.today()
    start = date(today.year - 8, 4, 1)
    span = (today - start).days

    with step(f"{likers:,} Likers", timings):
        # r: one random draw per Liker, split into independent-looking parts.
        run(f"""
        INSERT INTO supporters (id, registration_number, family_name, given_name,
            family_name_kana, given_name_kana, birth_year, birth_date, gender,
            email, phone, postal_code, prefecture, municipality, address, country,
            residence, channel_id, registered_on, status, withdrawn_on,
            use_stopped_at, erased_at, privacy_policy_version, privacy_consented_at,
            news_opt_in, show_name_publicly, referral_society_id, public_token,
            name_key, given_name_key, kana_key, given_kana_key, email_key,
            phone_key, created_at, updated_at)
        SELECT s.id, 'YL-' || lpad(s.id::text, 7, '0'),
            f.name, g.name, f.kana, g.kana, s.by, make_date(s.by, 1 + s.id % 12,
            1 + s.id % 28), (ARRAY['男性','女性','回答しない'])[1 + s.id % 3],
            CASE WHEN s.r1 < 0.6 THEN 'liker' || s.id || '@example.jp' END,
            CASE WHEN s.r2 < 0.7 THEN '090-' || lpad((s.id % 10000)::text, 4, '0')
                || '-' || lpad((s.id / 10000)::text, 4, '0') END,
            lpad(((s.id::bigint * 7919) % 10000000)::text, 7, '0'),
            CASE s.res WHEN 'in_town' THEN '北海道' WHEN 'in_prefecture' THEN '北海道'
                WHEN 'outside_prefecture' THEN ({prefectures})[2 + s.id % 9] END,
            CASE s.res WHEN 'in_town' THEN '夕張市' WHEN 'in_prefecture' THEN '札幌市'
                ELSE '中央区' END,
            '本町' || (s.id % 9 + 1) || '-' || (s.id % 30 + 1),
            CASE s.res WHEN 'overseas' THEN 'アメリカ合衆国' END,
            s.res, 1 + s.id % 8, s.reg, s.status,
            CASE WHEN s.status = 'withdrawn' THEN s.reg + 200 END,
            CASE WHEN s.status IN ('stopped', 'erased') THEN s.reg + 300 END,
            CASE WHEN s.status = 'erased' THEN s.reg + 400 END,
            '1.0', s.reg, s.r3 < 0.4, s.r3 < 0.2,
            CASE WHEN s.r4 < 0.03 THEN 1 + s.id % 12 END,
            translate(encode(sha256(('t' || s.id)::bytea), 'base64'), '+/=', '-_')::varchar(22),
            f.name_key || g.name_key, g.name_key, f.kana_key || g.kana_key, g.kana_key,
            CASE WHEN s.r1 < 0.6 THEN 'liker' || s.id || '@example.jp' END,
            CASE WHEN s.r2 < 0.7 THEN '090' || lpad((s.id % 10000)::text, 4, '0')
                || lpad((s.id / 10000)::text, 4, '0') END,
            s.reg, s.reg
        FROM (
            SELECT id, r1, r2, r3, r4, 1940 + (id * 31) % 65 AS by,
                DATE '{start}' + (({span}::bigint * (id - 1)) / {likers})::int AS reg,
                floor(power(r5, 2.2) * {nf})::int AS fi,
                floor(r6 * {ng})::int AS gi,
                CASE WHEN r7 < 0.25 THEN 'in_town' WHEN r7 < 0.45 THEN 'in_prefecture'
                    WHEN r7 < 0.92 THEN 'outside_prefecture'
                    WHEN r7 < 0.95 THEN 'overseas' ELSE 'unknown' END AS res,
                CASE WHEN r8 < 0.90 THEN 'active' WHEN r8 < 0.95 THEN 'withdrawn'
                    WHEN r8 < 0.96 THEN 'merged' WHEN r8 < 0.975 THEN 'pending'
                    WHEN r8 < 0.98 THEN 'rejected' WHEN r8 < 0.995 THEN 'stopped'
                    ELSE 'erased' END AS status
            FROM (SELECT id, random() r1, random() r2, random() r3, random() r4,
                    random() r5, random() r6, random() r7, random() r8
                  FROM generate_series(1, {likers}) id) raw
        ) s
        JOIN family f ON f.i = s.fi JOIN given g ON g.i = s.gi
        ORDER BY s.id
        """)
        run("UPDATE supporters SET merged_into_id = id - 1 WHERE status = 'merged'")
        run(f"SELECT setval('supporters_id_seq', {likers})")
        run(f"UPDATE counters SET value = {likers} WHERE name = 'supporter_number'")
        run("UPDATE town_settings SET number_digits = 7")

    with step("categories, tags, societies", timings):
        run("""INSERT INTO supporter_categories (supporter_id, category_id)
            SELECT DISTINCT id, c FROM (
                SELECT id, 1 + (id * 13) % 8 AS c FROM supporters
                UNION ALL
                SELECT id, 1 + (id * 7) % 8 FROM supporters WHERE id % 3 = 0
            ) x""")
        for i, name in enumerate(TAGS, 1):
            run(f"INSERT INTO tags (id, name) VALUES ({i}, '{name}')")
        run(f"""INSERT INTO supporter_tags (supporter_id, tag_id)
            SELECT id, 1 + (id * 17) % {len(TAGS)} FROM supporters
            WHERE id % 10 = 0""")
        for i, name in enumerate(SOCIETIES, 1):
            run(
                "INSERT INTO societies (id, name, region, created_at)"
                f" VALUES ({i}, '{name}', '{name[:2]}', now())"
            )
        run("""INSERT INTO society_memberships (society_id, supporter_id, role,
                since, created_at)
            SELECT 1 + id % 12, id, CASE WHEN id % 100 = 0 THEN 'officer'
                ELSE 'member' END, registered_on, registered_on
            FROM supporters WHERE id % 25 = 0 OR referral_society_id IS NOT NULL""")
        run("""INSERT INTO consent_records (supporter_id, kind, granted,
                notice_version, channel, recorded_at)
            SELECT id, 'news', true, '1.0', 'staff', registered_on
            FROM supporters WHERE news_opt_in""")

    with step(f"{events:,} events and their days", timings):
        run(f"""INSERT INTO events (id, title, theme_id, kind, place, location,
                capacity, status, first_day, created_at, updated_at)
            SELECT e, (ARRAY['炭鉱遺産ツアー','メロン収穫体験','映画祭ボランティア',
                    'ふるさと会交流会','移住相談会','スキー場清掃','東京PRイベント'])
                    [1 + e % 7] || ' 第' || e || '回',
                1 + e % 5, (ARRAY['event','workshop','tour','meeting','pr','online'])
                    [1 + e % 6], '夕張市民会館', CASE WHEN e % 6 = 4 THEN 'outside'
                    WHEN e % 6 = 5 THEN 'online' ELSE 'in_town' END, 300,
                CASE WHEN d > CURRENT_DATE THEN 'planned' WHEN e % 50 = 0
                    THEN 'cancelled' ELSE 'held' END, d, d, d
            FROM (SELECT e, DATE '{start}' + ((e - 1)::bigint * {span + 120}
                    / {events})::int AS d FROM generate_series(1, {events}) e) x""")
        run("""INSERT INTO event_days (event_id, day)
            SELECT e.id, e.first_day + n FROM events e,
                generate_series(0, 2) n WHERE n < 1 + e.id % 3
            ORDER BY e.first_day + n, e.id""")
        run("SELECT setval('events_id_seq', (SELECT max(id) FROM events))")

    with step(f"{args.attendances:,} attendance rows", timings):
        days = run(
            "SELECT count(*) FROM event_days d JOIN events e ON e.id = d.event_id"
            " WHERE e.status = 'held'"
        ).fetchone()[0]
        per_day = max(1, round(args.attendances / days * 1.02))  # duplicates drop
        # Each held day: between 0.3× and 1.7× the mean of draws; half the draws
        # from the regulars (the first tenth of the Likers, who joined early).
        run(f"""INSERT INTO attendances (event_day_id, supporter_id, role,
                checked_in_at, method)
            SELECT DISTINCT ON (day_id, sid) day_id, sid,
                CASE WHEN sid % 20 = 0 THEN 'volunteer' ELSE 'participant' END,
                day + time '09:00' + (sid % 480) * interval '1 minute',
                (ARRAY['scan','number','search','manual'])[1 + sid % 4]
            FROM (
                SELECT d.id AS day_id, d.day, CASE WHEN random() < 0.5
                    THEN 1 + floor(random() * {likers // 10})::int
                    ELSE 1 + floor(random() * {likers})::int END AS sid
                FROM event_days d JOIN events e ON e.id = d.event_id
                CROSS JOIN LATERAL generate_series(1,
                    (({per_day} * (0.3 + 1.4 * ((d.id * 7919) % 1000) / 1000.0)))::int
                    ) n
                WHERE e.status = 'held'
            ) draws
            ORDER BY day_id, sid""")
        run("DELETE FROM attendances a USING supporters s WHERE s.id = a.supporter_id"
            " AND s.status IN ('pending', 'rejected')")  # fmt: skip
        run("""INSERT INTO walk_in_counts (event_day_id, "group", count)
            SELECT id, g, 5 + (id * 3) % 40 FROM event_days d,
                unnest(ARRAY['citizen', 'visitor']) g
            WHERE d.day <= CURRENT_DATE""")
        run("""INSERT INTO guests (event_day_id, "group", name, created_at)
            SELECT id, 'visitor', '見学者' || id, day FROM event_days
            WHERE id % 4 = 0 AND day <= CURRENT_DATE""")

    with step("issuances", timings):
        run("""INSERT INTO issuances (supporter_id, kind, issued_at, reissue)
            SELECT id, k, registered_on + 30 + (id % 60), false
            FROM supporters, unnest(ARRAY['card', 'certificate']) k
            WHERE status NOT IN ('pending', 'rejected')
              AND ((k = 'card' AND id % 5 < 2) OR (k = 'certificate' AND id % 5 < 3))
            ORDER BY 3""")

    with step("derived columns (as migration 0009's triggers keep them)", timings):
        run("""UPDATE supporters s SET first_participated_on = f.first_day
            FROM (SELECT a.supporter_id, min(d.day) AS first_day FROM attendances a
                  JOIN event_days d ON d.id = a.event_day_id GROUP BY 1) f
            WHERE s.id = f.supporter_id""")
        run("""UPDATE supporters s SET card_issued_at = i.card,
                certificate_issued_at = i.certificate
            FROM (SELECT supporter_id,
                    min(issued_at) FILTER (WHERE kind = 'card') AS card,
                    min(issued_at) FILTER (WHERE kind = 'certificate') AS certificate
                  FROM issuances GROUP BY 1) i
            WHERE s.id = i.supporter_id""")

    run("SET session_replication_role = DEFAULT")
    return dropped


def build(args, app) -> dict:
    from flask_migrate import upgrade

    from crm.setup_data import seed_reference_data

    timings: dict = {}
    started = time.perf_counter()
    reset_schema(args.database_url)
    with app.app_context():
        upgrade(revision=args.revision)
        seed_reference_data()
        db.session.commit()
        db.engine.dispose()
    engine = create_engine(args.database_url)
    with engine.begin() as connection:
        dropped = load(connection, args, timings)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        # The derived columns' UPDATE left a dead copy of every Liker: rewrite the
        # table compact, as a registry grown by inserts would be.
        with step("VACUUM FULL supporters", timings):
            c.exec_driver_sql("VACUUM (FULL) supporters")
        with step(f"rebuild {len(dropped)} secondary indexes", timings):
            for definition in dropped:
                c.exec_driver_sql(definition)
        with step("VACUUM ANALYZE", timings):
            c.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    timings["total"] = round(time.perf_counter() - started, 1)
    return timings


def table_sizes(url: str) -> list[tuple[str, int, str, str]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.relname, c.reltuples::bigint,"
                " pg_size_pretty(pg_table_size(c.oid)),"
                " pg_size_pretty(pg_indexes_size(c.oid))"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                " ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 12"
            )
        ).all()
        total = connection.execute(
            text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        ).scalar()
    engine.dispose()
    return [tuple(r) for r in rows] + [("(database)", 0, total, "")]


# --------------------------------------------------------------------------- explain

BENCH_EMAIL, BENCH_PASSWORD = "bench-scale@example.jp", "bench-scale-password-1"
SKIPPED = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET|SHOW)\b", re.I)


class Capture:
    """The statements the app sends while `on` (with their parameters)."""

    def __init__(self, engine):
        self.on, self.statements = False, []
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, _conn, _cursor, statement, parameters, _context, many):
        if self.on and not many and not SKIPPED.match(statement):
            self.statements.append((statement, parameters))

    @contextmanager
    def __call__(self):
        self.statements, self.on = [], True
        try:
            yield self.statements
        finally:
            self.on = False


def sample_ids(connection) -> dict:
    """Real ids to ask for: a busy three-day event, a regular Liker, …"""

    def rows(sql):
        cursor = connection.cursor()  # psycopg, no parameters: % is modulo
        cursor.execute(sql)
        return cursor.fetchall()

    def one(sql):
        return rows(sql)[0][0]

    event_id = one(
        "SELECT e.id FROM events e WHERE e.status = 'held' AND e.id % 3 = 2"
        " AND e.first_day < CURRENT_DATE - 30 ORDER BY e.first_day DESC LIMIT 1"
    )
    day_id = one(
        f"SELECT id FROM event_days WHERE event_id = {event_id} ORDER BY day LIMIT 1"
    )
    liker = one(
        "SELECT s.id FROM supporters s WHERE s.status = 'active'"
        " AND s.id BETWEEN 1000 AND 50000 AND s.email_key IS NOT NULL"
        " AND s.phone_key IS NOT NULL ORDER BY s.id LIMIT 1"
    )
    row = rows(
        "SELECT public_token, registration_number, email_key, phone_key, kana_key"
        f" FROM supporters WHERE id = {liker}"
    )[0]
    newcomers = rows(
        "SELECT id, public_token, registration_number FROM supporters"
        " WHERE status = 'active' AND id > (SELECT max(id) * 9 / 10 FROM supporters)"
        f" AND NOT EXISTS (SELECT 1"
        f" FROM attendances a WHERE a.supporter_id = supporters.id"
        f" AND a.event_day_id = {day_id}) ORDER BY id LIMIT 2"
    )
    month = one(f"SELECT first_day FROM events WHERE id = {event_id}")
    return {
        "event": event_id,
        "day": day_id,
        "liker": liker,
        "token": row[0],
        "number": row[1],
        "email": row[2][:8],
        "phone": row[3][:7],
        "newcomer_token": newcomers[0][1],
        "newcomer_number": str(int(newcomers[1][2].split("-")[1])),
        "newcomer_ids": [n[0] for n in newcomers],
        "from": str(month.replace(day=1)),
        "to": str(
            (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            - timedelta(days=1)
        ),
    }


def scenarios(ids: dict) -> list[tuple[str, str, str, dict | None]]:
    """(name, method, path, form): every page or desk request measured."""
    day, event_id = ids["day"], ids["event"]
    likers = "/likers/"
    return [
        ("list: default page (kana order) + count", "GET", likers, None),
        ("list: page 2000", "GET", likers + "?page=2000", None),
        ("list: sort newest", "GET", likers + "?sort=newest", None),
        ("list: sort by number", "GET", likers + "?sort=number", None),
        ("list: status all", "GET", likers + "?status=all", None),
        ("list: withdrawn", "GET", likers + "?status=withdrawn", None),
        ("list: residence in_town", "GET", likers + "?residence=in_town", None),
        ("list: residence overseas", "GET", likers + "?residence=overseas", None),
        ("list: category", "GET", likers + "?category=3", None),
        ("list: society", "GET", likers + "?society=5", None),
        ("list: registered in a month", "GET",
         likers + f"?from={ids['from']}&to={ids['to']}", None),
        ("list: attended in a month", "GET",
         likers + f"?attended_from={ids['from']}&attended_to={ids['to']}", None),
        ("list: attended an event", "GET", likers + f"?event={event_id}", None),
        ("list: card not issued", "GET", likers + "?card=not_issued", None),
        ("list: certificate not issued", "GET",
         likers + "?certificate=not_issued", None),
        ("list: card issued", "GET", likers + "?card=issued", None),
        ("list: in_town + category + not issued", "GET",
         likers + "?residence=in_town&category=2&certificate=not_issued", None),
        ("stopped list", "GET", "/likers/stopped", None),
        ("search: kana prefix", "GET", likers + "?q=たかは", None),
        ("search: single kana initial", "GET", likers + "?q=さ", None),
        ("search: kana full name", "GET", likers + "?q=サトウハナコ", None),
        ("search: kanji name (variant 髙)", "GET", likers + "?q=髙橋", None),
        ("search: given name", "GET", likers + "?q=花子", None),
        ("search: registration number", "GET", likers + f"?q={ids['number']}", None),
        ("search: email", "GET", likers + f"?q={ids['email']}", None),
        ("search: phone", "GET", likers + f"?q={ids['phone']}", None),
        ("search: kana + in_town", "GET", likers + "?q=たなか&residence=in_town",
         None),
        ("Liker page", "GET", f"/likers/{ids['liker']}", None),
        ("event page (roster + totals)", "GET", f"/events/{event_id}", None),
        ("events list", "GET", "/events/", None),
        ("desk page", "GET", f"/desk/{day}", None),
        ("desk status", "GET", f"/desk/{day}/status", None),
        ("desk: check-in by QR token", "POST", f"/desk/{day}/check-in",
         {"code": ids["newcomer_token"]}),
        ("desk: check-in by number", "POST", f"/desk/{day}/check-in",
         {"code": ids["newcomer_number"]}),
        ("desk: kana name prefix", "POST", f"/desk/{day}/check-in",
         {"code": "やまもと"}),
        ("ministry report (this fiscal year)", "GET", "/reports/", None),
    ]  # fmt: skip


def plan_summary(plan: dict | None) -> tuple[str, list[str]]:
    """Node list (relation/index) and warnings: Seq Scan of a big table, big sorts."""
    if plan is None:
        return "(timed out)", ["TIMEOUT"]
    nodes, flags = [], []

    def walk(node):
        kind = node["Node Type"]
        where = node.get("Index Name") or node.get("Relation Name") or ""
        label = f"{kind}({where})" if where else kind
        if kind == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
            flags.append(f"SEQ SCAN {node['Relation Name']}")
        if kind in ("Sort", "Incremental Sort"):
            rows = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
            label += f"[{node.get('Sort Method', '')} {rows}]"
            if "external" in node.get("Sort Method", "") or rows > 50_000:
                flags.append(f"BIG SORT {rows} rows ({node.get('Sort Method')})")
        if kind not in ("Limit", "Result", "Materialize", "Hash", "Memoize"):
            nodes.append(label)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return ", ".join(nodes), flags


def explain(raw, statement: str, parameters, runs: int) -> tuple[float, dict, str]:
    """Median planning+execution ms over `runs` (after one warm-up), JSON and text
    plans; each run in a transaction rolled back, so inserts leave nothing."""
    times, plan, plan_text = [], None, ""
    for attempt in range(runs + 1):
        cursor = raw.cursor()
        try:
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
            )
            plan = cursor.fetchone()[0][0]
        except psycopg.errors.QueryCanceled:
            raw.rollback()
            cursor.execute("EXPLAIN " + statement, parameters)
            plan_text = "\n".join(r[0] for r in cursor.fetchall())
            raw.rollback()
            return (
                float("inf"),
                None,
                "(statement timeout; plan without ANALYZE)\n" + plan_text,
            )
        try:
            if attempt == runs:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan_text = "\n".join(r[0] for r in cursor.fetchall())
        finally:
            raw.rollback()
        if attempt:
            times.append(plan["Planning Time"] + plan["Execution Time"])
    return statistics.median(times), plan, plan_text


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return ", ".join(_literal(v) for v in value)
    return "'" + str(value).replace("'", "''") + "'"


def literal_sql(statement: str, parameters) -> str:
    """The statement with its parameters written in, for the plans file."""
    if not parameters:
        return statement
    return re.sub(
        r"%\((\w+)\)s",
        lambda m: _literal(parameters.get(m.group(1))),
        statement,
    )


def prepare_user(app) -> None:
    from crm.auth.services import create_user, find_user_by_email

    with app.app_context():
        if find_user_by_email(BENCH_EMAIL) is None:
            create_user(BENCH_EMAIL, "Bench", "admin", BENCH_PASSWORD)
            db.session.commit()
        db.session.remove()


def measure(app, args) -> list[dict]:  # noqa: PLR0915
    # One line per request or error would bury the table (errors show as HTTP 500).
    logging.getLogger("crm").setLevel(logging.CRITICAL)
    prepare_user(app)
    with app.app_context():
        capture = Capture(db.engine)
        connection = db.engine.raw_connection()
        ids = sample_ids(connection)
        connection.close()
        db.session.remove()
    client = app.test_client()
    response = client.post(
        "/login", data={"email": BENCH_EMAIL, "password": BENCH_PASSWORD}
    )
    if response.status_code != 302:
        sys.exit(f"Sign-in failed: HTTP {response.status_code}")
    results = []
    plans = open(args.plans, "w", encoding="utf-8")  # noqa: SIM115
    plans.write(f"# bench_scale.py plans, {time.strftime('%Y-%m-%d %H:%M')}\n")
    with app.app_context():
        engine = db.engine
    raw = engine.raw_connection()
    for name, method, path, form in scenarios(ids):
        if args.only and args.only not in name:
            continue
        with capture() as statements:
            started = time.perf_counter()
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(
                    path, data=form, headers={"Accept": "application/json"}
                )
            request_ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            print(f"!! {name}: HTTP {response.status_code} for {path}")
        if method == "POST":
            # Undo the check-in so that the replayed INSERT inserts again.
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "DELETE FROM attendances WHERE event_day_id = :day"
                        " AND supporter_id IN :ids"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"day": ids["day"], "ids": ids["newcomer_ids"]},
                )
        seen = set()
        total = 0.0
        rows = []
        for statement, parameters in statements:
            key = (statement, json.dumps(parameters, default=str, sort_keys=True))
            if key in seen or "audit_entries" in statement and "INSERT" in statement:
                continue
            seen.add(key)
            ms, plan, plan_text = explain(raw, statement, parameters, args.runs)
            summary, flags = plan_summary(plan)
            total += ms
            # Pages touched: unlike the times, not swayed by other load.
            pages = (
                plan["Plan"].get("Shared Hit Blocks", 0)
                + plan["Plan"].get("Shared Read Blocks", 0)
                if plan
                else None
            )
            rows.append(
                {
                    "ms": round(ms, 2) if math.isfinite(ms) else None,
                    "pages": pages,
                    "plan": summary,
                    "flags": flags,
                }
            )
            plans.write(
                f"\n\n=== {name}  [{path}]  {ms:.2f} ms\n"
                f"{literal_sql(statement, parameters)}\n\n{plan_text}\n"
            )
        slowest = sorted(rows, key=lambda r: -(r["ms"] or math.inf))
        flags = sorted({f for r in rows for f in r["flags"]})
        results.append(
            {
                "name": name,
                "path": path,
                "status": response.status_code,
                "request_ms": round(request_ms, 1),
                "sql_ms": round(total, 1) if math.isfinite(total) else None,
                "statements": len(rows),
                "pages": sum(r["pages"] or 0 for r in rows),
                "slowest": slowest[:3],
                "flags": flags,
            }
        )
        worst = slowest[0] if slowest else {"ms": 0, "plan": ""}
        worst_ms = f"{worst['ms']:.1f} ms" if worst["ms"] is not None else "TIMEOUT"
        print(
            f"{name:42} {request_ms:8.1f} ms request  {total:8.1f} ms SQL"
            f" {results[-1]['pages']:>8} pages ({len(rows)} stmts)"
            f"  slowest {worst_ms}: {worst['plan'][:110]}"
            + (f"  !! {'; '.join(flags)}" if flags else ""),
            flush=True,
        )
    raw.close()
    plans.close()
    print(f"Full plans: {args.plans}")
    return results


def main() -> int:
    args = parse_args()
    if make_url(args.database_url).get_backend_name() != "postgresql":
        sys.exit("bench_scale.py measures PostgreSQL: give a postgresql+psycopg URL.")
    settings = {
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": args.database_url,
        "WTF_CSRF_ENABLED": False,
        "JOBS_IN_PROCESS": False,
    }
    # Building and migrating may take minutes; the measured requests may not.
    builder = create_app(settings)
    app = create_app(
        {
            **settings,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "connect_args": {"options": f"-c statement_timeout={args.timeout}s"}
            },
        }
    )
    figures: dict = {"command": " ".join(sys.argv)}
    if args.reuse:
        from flask_migrate import upgrade

        with builder.app_context():
            started = time.perf_counter()
            upgrade(revision=args.revision)
            figures["upgrade_seconds"] = round(time.perf_counter() - started, 1)
            print(f"Upgraded to {args.revision} in {figures['upgrade_seconds']} s")
            db.engine.dispose()
    else:
        print(f"Building {args.likers:,} Likers, {args.attendances:,} attendances:")
        figures["build"] = build(args, builder)
        print(json.dumps(figures["build"]))
    figures["sizes"] = table_sizes(args.database_url)
    for row in figures["sizes"]:
        name, rows, table, indexes = row
        print(f"  {name:24} {rows:>12,} rows  table {table:>9}  indexes {indexes:>9}")
    figures["queries"] = measure(app, args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
