"""Benchmark the Likers import: check and commit of a big CP932 CSV, time and memory.

Loads 200,000 demo Likers with scripts/bench_supporters.py's loader (so duplicate
lookups read real indexes), then writes CP932 CSV files of 10,000 and 100,000 rows
the way towns have them: 姓/名/セイ/メイ (髙, 﨑; kana in katakana, hiragana or
half-width), birth dates in era form (平成3年4月1日, S55.12.3) or Western, emails,
phones in mixed forms (090-…, 090…, full-width, +81 …, landlines), postal codes
with or without the hyphen, addresses that start with the prefecture, one or two
categories and a channel from the seeded lists, era or Western registration dates,
notes with ①. About 1 % of the rows repeat a stored Liker (by email, phone, reading
+ birth date, or name + postal code, written differently) and 0.2 % an earlier row.

Each file is imported in a subprocess of its own, as the CLI does it: read_table,
guess_mapping, check_likers (duplicate checks included), then commit_likers with
the staff's choices for the flagged rows (stored matches: every other one updated,
the rest skipped; repeats within the file skipped) and the COMMIT. A thread samples
the RSS every 10 ms; growth is measured from the RSS with the file's bytes already
read (the upload), and is shown as the peak so far at each quarter of the check:
memory that stays flat levels off instead of growing with the rows read. The
imported Likers are deleted again after each run.

    python scripts/bench_import.py
    python scripts/bench_import.py --reuse --wait-quiet
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE crm_bench_import'
    python scripts/bench_import.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_import

Without --reuse the database is emptied first. Exits 1 when the largest file takes
60 s or more (check + commit).
"""

import argparse
import cProfile
import json
import os
import pstats
import random
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_report import wait_quiet  # noqa: E402
from bench_supporters import prepare, reset_database, versions  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402

DEFAULT_URL = "sqlite:////tmp/crm-bench-import.sqlite3"
TARGET_SECONDS = 60.0
HEADER = ("姓", "名", "セイ", "メイ", "生年月日", "性別", "メールアドレス", "電話番号",
          "郵便番号", "住所", "関係区分", "登録経路", "登録日", "ニュース希望", "備考")  # fmt: skip
# A wider name space than the demo Likers' (38 × 20), as a real list has: stored
# Likers meet a row by name and postal code only now and then.
MORE_FAMILY = (
    ("藤田", "フジタ", "Fujita"), ("後藤", "ゴトウ", "Goto"), ("岡田", "オカダ", "Okada"),
    ("長田", "ナガタ", "Nagata"), ("石井", "イシイ", "Ishii"), ("坂本", "サカモト", "Sakamoto"),
    ("遠藤", "エンドウ", "Endo"), ("青木", "アオキ", "Aoki"), ("藤井", "フジイ", "Fujii"),
    ("西村", "ニシムラ", "Nishimura"), ("福田", "フクダ", "Fukuda"), ("太田", "オオタ", "Ota"),
    ("三浦", "ミウラ", "Miura"), ("藤原", "フジワラ", "Fujiwara"), ("岡本", "オカモト", "Okamoto"),
    ("松田", "マツダ", "Matsuda"), ("中川", "ナカガワ", "Nakagawa"), ("中野", "ナカノ", "Nakano"),
    ("原田", "ハラダ", "Harada"), ("小野", "オノ", "Ono"), ("田村", "タムラ", "Tamura"),
    ("竹内", "タケウチ", "Takeuchi"), ("金子", "カネコ", "Kaneko"), ("和田", "ワダ", "Wada"),
    ("中山", "ナカヤマ", "Nakayama"), ("石田", "イシダ", "Ishida"), ("上田", "ウエダ", "Ueda"),
    ("森田", "モリタ", "Morita"), ("原", "ハラ", "Hara"), ("柴田", "シバタ", "Shibata"),
    ("酒井", "サカイ", "Sakai"), ("工藤", "クドウ", "Kudo"), ("横山", "ヨコヤマ", "Yokoyama"),
    ("宮崎", "ミヤザキ", "Miyazaki"), ("宮﨑", "ミヤザキ", "Miyazaki"), ("宮本", "ミヤモト", "Miyamoto"),
    ("内田", "ウチダ", "Uchida"), ("高木", "タカギ", "Takagi"), ("髙木", "タカギ", "Takagi"),
    ("安藤", "アンドウ", "Ando"), ("谷口", "タニグチ", "Taniguchi"), ("大野", "オオノ", "Ono"),
    ("丸山", "マルヤマ", "Maruyama"), ("今井", "イマイ", "Imai"), ("高田", "タカダ", "Takada"),
    ("藤本", "フジモト", "Fujimoto"), ("武田", "タケダ", "Takeda"), ("村田", "ムラタ", "Murata"),
    ("上野", "ウエノ", "Ueno"), ("杉山", "スギヤマ", "Sugiyama"), ("増田", "マスダ", "Masuda"),
    ("平野", "ヒラノ", "Hirano"), ("大塚", "オオツカ", "Otsuka"), ("千葉", "チバ", "Chiba"),
    ("久保", "クボ", "Kubo"), ("松井", "マツイ", "Matsui"), ("小島", "コジマ", "Kojima"),
    ("岩崎", "イワサキ", "Iwasaki"), ("岩﨑", "イワサキ", "Iwasaki"), ("桜井", "サクライ", "Sakurai"),
    ("野口", "ノグチ", "Noguchi"), ("松尾", "マツオ", "Matsuo"), ("野村", "ノムラ", "Nomura"),
    ("木下", "キノシタ", "Kinoshita"), ("菊地", "キクチ", "Kikuchi"), ("佐野", "サノ", "Sano"),
    ("大西", "オオニシ", "Onishi"), ("杉本", "スギモト", "Sugimoto"), ("新井", "アライ", "Arai"),
    ("浜田", "ハマダ", "Hamada"), ("濵田", "ハマダ", "Hamada"), ("菅原", "スガワラ", "Sugawara"),
    ("市川", "イチカワ", "Ichikawa"), ("水野", "ミズノ", "Mizuno"), ("小松", "コマツ", "Komatsu"),
    ("島田", "シマダ", "Shimada"), ("古川", "フルカワ", "Furukawa"), ("小山", "コヤマ", "Koyama"),
)  # fmt: skip
# Given names as a real list has them: hundreds of forms (two-part names here),
# none of them a demo Liker's, so that stored Likers and the file meet by name and
# postal code only where a row is meant to repeat one.
GIVEN_HEADS = (
    ("大", "ダイ", "dai"), ("健", "ケン", "ken"), ("翔", "ショウ", "sho"), ("美", "ミ", "mi"),
    ("優", "ユウ", "yu"), ("真", "マ", "ma"), ("和", "カズ", "kazu"), ("直", "ナオ", "nao"),
    ("智", "トモ", "tomo"), ("陽", "ハル", "haru"), ("結", "ユ", "yu"), ("悠", "ユウ", "yu"),
    ("春", "ハル", "haru"), ("秋", "アキ", "aki"), ("夏", "ナツ", "natsu"), ("光", "ミツ", "mitsu"),
    ("千", "チ", "chi"), ("百", "モモ", "momo"), ("恵", "メグ", "megu"), ("彩", "アヤ", "aya"),
    ("信", "ノブ", "nobu"), ("正", "マサ", "masa"), ("孝", "タカ", "taka"), ("康", "ヤス", "yasu"),
)  # fmt: skip
GIVEN_TAILS = (
    ("太", "タ", "ta"), ("斗", "ト", "to"), ("也", "ヤ", "ya"), ("樹", "キ", "ki"),
    ("介", "スケ", "suke"), ("輔", "スケ", "suke"), ("郎", "ロウ", "ro"), ("子", "コ", "ko"),
    ("奈", "ナ", "na"), ("花", "カ", "ka"), ("香", "カ", "ka"), ("菜", "ナ", "na"),
    ("乃", "ノ", "no"), ("希", "キ", "ki"), ("人", "ト", "to"), ("平", "ヘイ", "hei"),
    ("吾", "ゴ", "go"), ("彦", "ヒコ", "hiko"), ("生", "オ", "o"), ("江", "エ", "e"),
)  # fmt: skip
MORE_GIVEN = tuple(
    (head + tail, head_kana + tail_kana, head_romaji + tail_romaji)
    for head, head_kana, head_romaji in GIVEN_HEADS
    for tail, tail_kana, tail_romaji in GIVEN_TAILS
)
# (postal code, address up to the street): in town, in the prefecture, elsewhere.
TOWN = (
    ("068-0403", "北海道夕張市本町4丁目"), ("068-0411", "北海道夕張市末広1丁目"),
    ("068-0752", "北海道夕張市南清水沢3丁目"), ("068-0535", "北海道夕張市沼ノ沢"),
    ("068-0765", "北海道夕張市紅葉山"), ("068-0401", "北海道夕張市本町1丁目"),
    ("068-0412", "北海道夕張市末広2丁目"), ("068-0423", "北海道夕張市高松"),
    ("068-0751", "北海道夕張市清水沢"), ("068-0536", "北海道夕張市真谷地"),
)  # fmt: skip
ELSEWHERE = (
    ("060-0001", "北海道札幌市中央区北一条西"), ("069-0813", "北海道江別市野幌町"),
    ("064-0820", "北海道札幌市中央区大通西"), ("070-0031", "北海道旭川市一条通"),
    ("100-0005", "東京都千代田区丸の内1丁目"), ("160-0022", "東京都新宿区新宿3丁目"),
    ("154-0004", "東京都世田谷区太子堂2丁目"), ("170-0013", "東京都豊島区東池袋1丁目"),
    ("220-0011", "神奈川県横浜市西区高島2丁目"), ("330-0063", "埼玉県さいたま市浦和区高砂3丁目"),
    ("260-0013", "千葉県千葉市中央区中央2丁目"), ("530-0001", "大阪府大阪市北区梅田1丁目"),
    ("460-0008", "愛知県名古屋市中区栄3丁目"), ("980-0021", "宮城県仙台市青葉区中央1丁目"),
    ("812-0011", "福岡県福岡市博多区博多駅前2丁目"), ("900-0015", "沖縄県那覇市久茂地1丁目"),
    ("600-8216", "京都府京都市下京区東塩小路町"), ("730-0011", "広島県広島市中区基町"),
    ("950-0087", "新潟県新潟市中央区東大通1丁目"), ("390-0811", "長野県松本市中央1丁目"),
)  # fmt: skip
DOMAINS = (
    "example.jp",
    "example.ne.jp",
    "example.co.jp",
    "example.com",
    "mail.example.org",
)
NOTES = ("①旧名簿から移行", "夕張メロンのふるさと納税", "東京夕張会の紹介", "映画祭ボランティア経験あり",
         "炭鉱住宅に住んでいた", "祖父母が清水沢在住")  # fmt: skip
ZENKAKU = str.maketrans("0123456789-", "０１２３４５６７８９－")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--likers", type=int, default=200_000)
    parser.add_argument("--sizes", default="10000,100000", help="rows per file")
    parser.add_argument("--runs", type=int, default=1, help="runs per file (median)")
    parser.add_argument("--reuse", action="store_true", help="keep the database")
    parser.add_argument(
        "--wait-quiet",
        action="store_true",
        help="before each run, wait until no bench_exports runs and the load is < 1.0",
    )
    parser.add_argument("--profile", help="cProfile the largest run into this file")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one file, in a subprocess
    return parser.parse_args()


def make_app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": url})


# --------------------------------------------------------------------------- file


def _kana(rng: random.Random, kana: str) -> str:
    import jaconv

    roll = rng.random()
    if roll < 0.2:
        return jaconv.kata2hira(kana)
    if roll < 0.3:
        return jaconv.z2h(kana, kana=True, ascii=False, digit=False)
    return kana


def _date_text(rng: random.Random, day: date) -> str:
    from crm.eras import era_for, format_era

    roll = rng.random()
    if roll < 0.4:
        return format_era(day)
    if roll < 0.5:
        name, year = era_for(day)
        letter = {"令和": "R", "平成": "H", "昭和": "S", "大正": "T"}[name]
        return f"{letter}{year}.{day.month}.{day.day}"
    if roll < 0.8:
        return f"{day.year}/{day.month:02d}/{day.day:02d}"
    return f"{day.year}-{day.month}-{day.day}"


def _phone(rng: random.Random, digits: str) -> str:
    """digits: 11 (mobile) or 10 (landline), as 0…; written in one of the usual ways."""
    if len(digits) == 11:
        parts = (digits[:3], digits[3:7], digits[7:])
    else:
        parts = (digits[:4], digits[4:6], digits[6:])
    roll = rng.random()
    if roll < 0.45:
        return "-".join(parts)
    if roll < 0.65:
        return digits
    if roll < 0.8:
        return "-".join(parts).translate(ZENKAKU)
    if roll < 0.9:
        return f"+81 {parts[0][1:]}-{parts[1]}-{parts[2]}"
    return f"{parts[0]}({parts[1]}){parts[2]}"


def _postal(rng: random.Random, code: str) -> str:
    roll = rng.random()
    if roll < 0.7:
        return code
    if roll < 0.9:
        return code.replace("-", "")
    return "〒" + code


def _new_row(rng: random.Random, family_names, given_names, categories, channels):
    family, family_kana, family_romaji = rng.choice(family_names)
    given, given_kana, given_romaji = rng.choice(given_names)
    born = date(rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28))
    roll = rng.random()
    postal, address = rng.choice(TOWN if roll < 0.2 else ELSEWHERE)
    # Another code of the same area: a real list spreads over many of them.
    digits = (
        f"{rng.randint(0, 99):02d}" if roll < 0.2 else f"{rng.randint(0, 9999):04d}"
    )
    postal = postal[: 8 - len(digits)] + digits
    street = f"{rng.randint(1, 20)}-{rng.randint(1, 30)}-{rng.randint(1, 15)}"
    if rng.random() < 0.5:
        mobile = f"0{rng.choice('789')}0{rng.randint(10_000_000, 99_999_999)}"
    else:
        mobile = f"0{rng.randint(100, 999)}{rng.randint(100_000, 999_999)}"
    registered = date.today() - timedelta(days=rng.randint(0, 365 * 5))
    return [
        family,
        given,
        _kana(rng, family_kana),
        _kana(rng, given_kana),
        _date_text(rng, born) if rng.random() < 0.85 else "",
        rng.choice(("男性", "女性", "男性", "女性", "")),
        f"{family_romaji.lower()}.{given_romaji.lower()}{rng.randint(10_000, 99_999)}"
        f"@{rng.choice(DOMAINS)}"
        if rng.random() < 0.75
        else "",
        _phone(rng, mobile) if rng.random() < 0.7 else "",
        _postal(rng, postal),
        f"{address}{street}",
        "、".join(rng.sample(categories, k=rng.choice((1, 1, 1, 2)))),
        rng.choice(channels) if rng.random() < 0.7 else "",
        _date_text(rng, registered) if rng.random() < 0.5 else "",
        rng.choice(("はい", "いいえ", "○", "")),
        rng.choice(NOTES) if rng.random() < 0.1 else "",
    ]


def _duplicate_row(rng: random.Random, stored, base: list[str]) -> list[str]:
    """A row for a stored Liker, sharing one key with it, written another way."""
    import jaconv

    from crm.imports.duplicates import domestic_phone

    row = list(base)
    row[0], row[1] = stored.family_name, stored.given_name
    row[2] = _kana(rng, stored.family_name_kana)
    row[3] = _kana(rng, stored.given_name_kana)
    ways = ["kana_birth"] if stored.birth_date else []
    ways += ["email"] if stored.email else []
    ways += ["phone"] if len(domestic_phone(stored.phone)) in (10, 11) else []
    ways += ["name_postal"] if stored.postal_code else []
    way = rng.choice(ways or ["kana_birth"])
    if way == "email":
        row[6] = stored.email.upper() if rng.random() < 0.3 else stored.email
    elif way == "phone":  # as stored, or as an earlier run's update wrote it
        row[7] = _phone(rng, domestic_phone(stored.phone))
    elif way == "kana_birth" and stored.birth_date:
        row[2] = jaconv.kata2hira(stored.family_name_kana)
        row[4] = _date_text(rng, stored.birth_date)
    elif stored.postal_code:
        row[8] = stored.postal_code.replace("-", "")
        row[9] = f"{stored.prefecture or ''}{stored.municipality or ''}{stored.address}"
    return row


def write_csv(path: Path, rows: int, seed: int) -> dict:
    """A CP932 file of rows Likers; about 1 % repeat stored ones, 0.2 % earlier rows."""
    import csv

    from crm.demo import FAMILY_NAMES
    from crm.setup_data import DEFAULT_CATEGORIES, DEFAULT_CHANNELS
    from crm.supporters.models import Supporter

    rng = random.Random(seed)
    # 家族・親族 and 勤務・在住経験 are left out: the import splits a cell at "・"
    # (crm.imports.likers._SPLIT_LIST), so those two names are never recognised.
    categories = [c for c in DEFAULT_CATEGORIES if "・" not in c]
    family_names = [f for f in FAMILY_NAMES if "𠮷" not in f[0]] + list(MORE_FAMILY)
    given_names = list(MORE_GIVEN)
    low, high = db.session.execute(
        select(func.min(Supporter.id), func.max(Supporter.id))
    ).one()
    wanted = sorted(rng.sample(range(low, high + 1), rows // 100))
    stored = []
    for start in range(0, len(wanted), 500):
        stored += db.session.scalars(
            select(Supporter).where(
                Supporter.id.in_(wanted[start : start + 500]),
                Supporter.status == "active",
            )
        ).all()
    db.session.rollback()
    stored = [s for s in stored if "𠮷" not in s.family_name]
    duplicate_at = set(rng.sample(range(rows), len(stored)))
    stored_iter = iter(stored)
    repeats = 0
    earlier: list[list[str]] = []
    with path.open("w", encoding="cp932", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        for n in range(rows):
            row = _new_row(rng, family_names, given_names, categories, DEFAULT_CHANNELS)
            if n in duplicate_at:
                row = _duplicate_row(rng, next(stored_iter), row)
            elif earlier and rng.random() < 0.002:
                row = list(rng.choice(earlier))
                repeats += 1
            if len(earlier) < 500 and rng.random() < 0.01:
                earlier.append(row)
            writer.writerow(row)
    return {
        "rows": rows,
        "stored_duplicates": len(stored),
        "repeats": repeats,
        "mb": path.stat().st_size / 1e6,
    }


# --------------------------------------------------------------------------- child


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSampler(threading.Thread):
    """Peak RSS, sampled every 10 ms, and the peak so far at each moment."""

    def __init__(self, interval: float = 0.01):
        super().__init__(daemon=True)
        self.interval, self.peak, self.running = interval, rss_bytes(), True
        self.started = time.perf_counter()
        self.timeline: list[tuple[float, int]] = []

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_bytes())
            self.timeline.append((time.perf_counter() - self.started, self.peak))
            time.sleep(self.interval)

    def peak_at(self, seconds: float) -> int:
        """The peak RSS up to that many seconds after the start."""
        return max((p for t, p in self.timeline if t <= seconds), default=self.peak)

    def stop(self) -> int:
        self.running = False
        self.join()
        return max(self.peak, rss_bytes())


def child(args) -> dict:
    from crm.imports.columns import guess_mapping
    from crm.imports.reading import read_table
    from crm.imports.services import check_likers, commit_likers

    app = make_app(args.database_url)
    with app.app_context():
        # Warm-up: imports, the connection, the reference lists (nothing written).
        small = "\r\n".join([",".join(HEADER), "夕張,太郎,ユウバリ,タロウ" + "," * 11])
        table = read_table(small.encode("cp932"), "warm.csv")
        check_likers(table, guess_mapping(table.headers))
        db.session.rollback()
        data = Path(args.child).read_bytes()
        profiler = cProfile.Profile() if args.profile else None
        baseline = rss_bytes()
        sampler = RssSampler()
        sampler.start()
        started = sampler.started
        if profiler:
            profiler.enable()
        table = read_table(data, Path(args.child).name)
        mapping = guess_mapping(table.headers)
        check = check_likers(table, mapping)
        checked = time.perf_counter()
        check_peak = sampler.peak
        if check.problems:
            first = list(check.problems.items())[:5]
            raise SystemExit(f"{len(check.problems)} rows with problems: {first}")
        decisions = {}
        stored_flags = 0
        for row in check.flagged:
            if row.matches:
                stored_flags += 1
                if stored_flags % 2:
                    decisions[str(row.line)] = f"update:{row.matches[0].supporter_id}"
                    continue
            decisions[str(row.line)] = "skip"
        result = commit_likers(table, mapping, decisions)
        written = time.perf_counter()
        db.session.commit()
        committed = time.perf_counter()
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        peak = sampler.stop()
        db.session.remove()
    mb = 1024 * 1024
    # The peak so far at each quarter of the check: flat memory levels off early.
    check_s = checked - started
    quarters = [
        (sampler.peak_at(check_s * q / 4) - baseline) / mb for q in (1, 2, 3, 4)
    ]
    return {
        "growth_check_quarters_mb": quarters,
        "rows": check.rows,
        "flagged": len(check.flagged),
        "flagged_stored": stored_flags,
        "repeats": sum(1 for r in check.flagged if r.repeats_line),
        "created": len(result.created),
        "updated": len(result.updated),
        "skipped": result.skipped,
        "check_s": checked - started,
        "commit_s": written - checked,
        "db_commit_s": committed - written,
        "total_s": committed - started,
        "baseline_mb": baseline / mb,
        "check_peak_mb": check_peak / mb,
        "peak_mb": peak / mb,
        "growth_check_mb": (check_peak - baseline) / mb,
        "growth_mb": (peak - baseline) / mb,
    }


# --------------------------------------------------------------------------- parent


def forget_imported(app, last_id: int, counter: int) -> None:
    """Delete what a run created, so that every run meets the same 200,000 Likers.

    Foreign keys are not checked while deleting: supporters.merged_into_id has no
    index, so each deleted row would make the database read every Liker. On
    PostgreSQL the tables are vacuumed afterwards, as autovacuum would.
    """
    from crm.supporters.services import SUPPORTER_COUNTER

    last_id, counter = int(last_id), int(counter)
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if sqlite:  # autocommit connection (crm.database): the pragma applies
                cursor.execute("PRAGMA foreign_keys=OFF")
                cursor.execute("BEGIN IMMEDIATE")
            else:
                cursor.execute("SET session_replication_role = replica")
            for table in ("supporter_categories", "supporter_tags"):
                cursor.execute(f"DELETE FROM {table} WHERE supporter_id > {last_id}")
            cursor.execute(f"DELETE FROM supporters WHERE id > {last_id}")
            cursor.execute(
                f"UPDATE counters SET value = {counter} "
                f"WHERE name = '{SUPPORTER_COUNTER}'"
            )
            if sqlite:
                cursor.execute("COMMIT")
                cursor.execute("PRAGMA foreign_keys=ON")
            else:
                raw.commit()
                cursor.execute("SET session_replication_role = DEFAULT")
                raw.commit()
        finally:
            raw.close()
        db.session.remove()
        if not sqlite:  # as autovacuum would: the next run meets no dead rows
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.execute(
                    text(
                        "VACUUM (ANALYZE) supporters, supporter_categories, audit_entries"
                    )
                )


def run_child(args, path: Path, profile: str | None) -> dict:
    command = [sys.executable, __file__, "--child", str(path),
               "--database-url", args.database_url]  # fmt: skip
    if profile:
        command += ["--profile", profile]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"the import of {path} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    args = parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0
    if not args.reuse:
        reset_database(args.database_url)
    app = make_app(args.database_url)
    info = prepare(app, args.likers)
    env = versions(app)
    sizes = [int(s) for s in args.sizes.split(",")]
    files = {}
    from crm.supporters.models import Counter, Supporter
    from crm.supporters.services import SUPPORTER_COUNTER

    with app.app_context():
        for size in sizes:
            path = Path(f"/tmp/bench-import-{size}.csv")
            started = time.perf_counter()
            files[size] = (path, write_csv(path, size, seed=size))
            print(
                f"{path}: {files[size][1]} ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        last_id = db.session.scalar(select(func.max(Supporter.id)))
        counter = db.session.get(Counter, SUPPORTER_COUNTER).value
        db.session.remove()
    results = []
    for size in sizes:
        path, made = files[size]
        runs = []
        for run in range(args.runs):
            quiet = wait_quiet() if args.wait_quiet else "not checked"
            profile = args.profile if size == max(sizes) and run == 0 else None
            result = run_child(args, path, profile)
            forget_imported(app, last_id, counter)
            result["quiet"] = quiet
            runs.append(result)
            print(
                f"{size:>7,} rows: check {result['check_s']:.1f} s, commit "
                f"{result['commit_s']:.1f} s + COMMIT {result['db_commit_s']:.2f} s = "
                f"{result['total_s']:.1f} s; RSS {result['baseline_mb']:.0f} MB → peak "
                f"{result['peak_mb']:.0f} MB (+{result['growth_mb']:.0f}; check "
                f"+{result['growth_check_mb']:.0f}, at its quarters "
                f"{' / '.join(f'{q:.0f}' for q in result['growth_check_quarters_mb'])}"
                f"); flagged {result['flagged']} "
                f"({result['flagged_stored']} stored, {result['repeats']} repeats), "
                f"created {result['created']:,}, updated {result['updated']}, "
                f"skipped {result['skipped']}",
                flush=True,
            )
        best = sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]
        results.append({"size": size, "file": made, "median": best, "runs": runs,
                        "total_runs": [r["total_s"] for r in runs]})  # fmt: skip
    print(
        f"\n{env['database']}, {info['likers']:,} Likers stored; Python "
        f"{env['python']}, {env['cpus']} CPUs; median of {args.runs}\n"
    )
    print("| rows | file MB | check s | commit s | total s (runs) | RSS growth MB during "
          "the check, at ¼ / ½ / ¾ / end | whole import | peak RSS MB | flagged "
          "| target |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        m = r["median"]
        verdict = "met" if m["total_s"] < TARGET_SECONDS else "MISSED"
        quarters = " / ".join(f"{q:.0f}" for q in m["growth_check_quarters_mb"])
        runs = ", ".join(f"{t:.1f}" for t in r["total_runs"])
        print(
            f"| {r['size']:,} | {r['file']['mb']:.1f} | {m['check_s']:.1f} | "
            f"{m['commit_s'] + m['db_commit_s']:.1f} | {m['total_s']:.1f} ({runs}) | "
            f"{quarters} | {m['growth_mb']:.0f} | {m['peak_mb']:.0f} | "
            f"{m['flagged']} | 60 s: {verdict} |"
        )
    if args.profile:
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"env": env, "load": info, "results": results}, handle,
                      ensure_ascii=False, indent=1)  # fmt: skip
    largest = results[-1]["median"]["total_s"]
    return 1 if largest >= TARGET_SECONDS else 0


if __name__ == "__main__":
    sys.exit(main())
