"""Benchmark printing Likers' business cards: N cards on A4 sheets of 10, in one PDF.

Every variant runs in its own fresh subprocess, once per --runs, so each run starts
with empty in-process caches and its peak RSS (getrusage ru_maxrss) is its own:

  floor           the same sheets, the same text in the same fonts, draw_qr a no-op
  floor-no-accel  the floor with reportlab's C accelerator (rl-accel) kept out
  cold            no code computed before: the qr_codes table is emptied (untimed),
                  then the production path: matrices_for() reads the table (finds
                  nothing), encodes every code and inserts them, render_sheets()
                  draws them (known_qr_codes), and the transaction is committed
  warm            every code already in qr_codes, as after the tokens were issued:
                  the same path reads them back (stored_matrices, 500 URLs a query)
                  and encodes none
  cold-segno      (--segno) cold with Zint kept out: segno encodes, as where the
                  zint-bindings wheel is missing; one run only, it is slow

Timed: matrices_for() + render_sheets() + commit, with the app, the fonts and the
card data made before. The database is a fresh SQLite file migrated to head
(--database-url for another, e.g. a PostgreSQL database the script may fill).
Reported per variant: median seconds, PDF MB, peak RSS MB (1 MB = 10^6 bytes), each
as a ratio to the floor of the same run, and how many codes were encoded and read.
rl-accel must be installed (reportlab's _c_funcs non-empty).

Decoding: the first, middle and last page of the first cold and warm PDFs are
rendered at 300 dpi with pdftoppm and read with `zbarimg -q`; every card must give
its own URL. A page where zbar misses a code among the ten is read again card by
card (each cell cropped alone): zbar's search for codes on a whole page sometimes
skips one of many (reported, see docs/benchmarks.md), while a code that does not
decode alone is a real failure. --decode-all checks every page of the cold PDF.

Exits 1 when a goal is missed: cold <= 10x the floor, warm <= 3x the floor, peak
RSS < 300 MB in every variant, rl-accel present, every checked code decodes.

    /tmp/venv/bin/python scripts/bench_cards.py
    /tmp/venv/bin/python scripts/bench_cards.py --cards 2000 --runs 5 --json /tmp/b.json
    /tmp/venv/bin/python scripts/bench_cards.py --profile warm   # one cProfile'd run
"""

import argparse
import base64
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = ("floor", "floor-no-accel", "cold", "warm")
QR_VARIANTS = ("cold", "warm", "cold-segno")
COLD_MAX_RATIO = 10.0
WARM_MAX_RATIO = 3.0
RSS_MAX_MB = 300.0
DPI = 300
BASE_URL = "https://likers.example.jp"
PROGRAMME = "夕張Likers!"
SEED = 20260509

# (family, kana, romaji): common names and the rare kanji 髙, 﨑 and 𠮷 (outside the BMP,
# drawn from the IPAmj Mincho fallback), weighted up so every sheet sees some.
FAMILY_NAMES = (
    ("佐藤", "サトウ", "Sato"), ("鈴木", "スズキ", "Suzuki"), ("高橋", "タカハシ", "Takahashi"),
    ("田中", "タナカ", "Tanaka"), ("伊藤", "イトウ", "Ito"), ("渡辺", "ワタナベ", "Watanabe"),
    ("山本", "ヤマモト", "Yamamoto"), ("中村", "ナカムラ", "Nakamura"), ("小林", "コバヤシ", "Kobayashi"),
    ("加藤", "カトウ", "Kato"), ("吉田", "ヨシダ", "Yoshida"), ("山田", "ヤマダ", "Yamada"),
    ("佐々木", "ササキ", "Sasaki"), ("長谷川", "ハセガワ", "Hasegawa"), ("齋藤", "サイトウ", "Saito"),
    ("渡邊", "ワタナベ", "Watanabe"), ("夕張", "ユウバリ", "Yubari"), ("清水", "シミズ", "Shimizu"),
    ("髙橋", "タカハシ", "Takahashi"), ("髙山", "タカヤマ", "Takayama"), ("山﨑", "ヤマザキ", "Yamazaki"),
    ("﨑田", "サキタ", "Sakita"), ("𠮷田", "ヨシダ", "Yoshida"), ("𠮷川", "ヨシカワ", "Yoshikawa"),
)  # fmt: skip
GIVEN_NAMES = (
    ("大翔", "ヒロト", "Hiroto"), ("蓮", "レン", "Ren"), ("健太", "ケンタ", "Kenta"),
    ("翔太", "ショウタ", "Shota"), ("誠", "マコト", "Makoto"), ("浩二", "コウジ", "Koji"),
    ("一郎", "イチロウ", "Ichiro"), ("悠真", "ユウマ", "Yuma"), ("陽菜", "ヒナ", "Hina"),
    ("結衣", "ユイ", "Yui"), ("さくら", "サクラ", "Sakura"), ("美咲", "ミサキ", "Misaki"),
    ("花子", "ハナコ", "Hanako"), ("恵子", "ケイコ", "Keiko"), ("真由美", "マユミ", "Mayumi"),
    ("千尋", "チヒロ", "Chihiro"), ("麻衣子", "マイコ", "Maiko"), ("𠮷之助", "キチノスケ", "Kichinosuke"),
)  # fmt: skip


def make_cards(count: int) -> list:
    """count cards with distinct public URLs, the same on every call."""
    from crm.printing.business_card import CardData

    rng = random.Random(SEED)
    cards, tokens = [], set()
    for number in range(1, count + 1):
        family, family_kana, family_romaji = rng.choice(FAMILY_NAMES)
        given, given_kana, given_romaji = rng.choice(GIVEN_NAMES)
        token = base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode()
        while token in tokens:  # as unlikely as for secrets.token_urlsafe(16)
            token = base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode()
        tokens.add(token)
        reading = (
            f"{given_romaji} {family_romaji}"
            if rng.random() < 0.3
            else f"{family_kana} {given_kana}"
        )
        cards.append(
            CardData(
                programme=PROGRAMME,
                title=f"{PROGRAMME} Likers",
                name=f"{family} {given}",
                reading=reading,
                number=f"YL-{number:05d}",
                url=f"{BASE_URL}/v/{token}",
            )
        )
    return cards


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB


def make_app(database_url: str):
    from crm import create_app

    return create_app(
        {
            "SECRET_KEY": "bench-cards-secret-key-0123456789abcdef",
            "DATABASE_URL": database_url,
            "PUBLIC_BASE_URL": BASE_URL,
            "JOBS_IN_PROCESS": False,
        }
    )


def run_variant(
    variant: str, count: int, database_url: str, out: str | None, profile: bool
) -> dict:
    """One run of one variant in this (fresh) process; the result as a dict."""
    if variant == "floor-no-accel":
        sys.modules["_rl_accel"] = None  # reportlab falls back to pure Python
    from reportlab.lib import rl_accel
    from sqlalchemy import delete, func, select

    from crm.documents import qr_store
    from crm.documents.models import QrCode
    from crm.extensions import db
    from crm.printing import business_card, qr
    from crm.printing.fonts import font_set

    if variant == "cold-segno":
        qr.zint = None
    encoded = 0
    encode = qr_store.encode_qr

    def counting_encode(data: str):
        nonlocal encoded
        encoded += 1
        return encode(data)

    qr_store.encode_qr = counting_encode
    app = make_app(database_url)
    fonts = font_set("gothic")
    cards = make_cards(count)
    timings = {"codes": 0.0, "render": 0.0, "commit": 0.0}
    stored_before = stored_after = 0
    with app.app_context():
        if variant in ("floor", "floor-no-accel"):
            business_card.draw_qr = lambda *args, **kwargs: None
        elif variant in ("cold", "cold-segno"):
            db.session.execute(delete(QrCode))
            db.session.commit()
        if variant not in ("floor", "floor-no-accel"):
            stored_before = db.session.scalar(select(func.count()).select_from(QrCode))
            db.session.commit()
        setup_rss = peak_rss_mb()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        cpu_started = time.process_time()
        codes = {}
        if variant not in ("floor", "floor-no-accel"):
            # What render_cards does: the stored codes, the missing ones encoded.
            codes = qr_store.matrices_for(card.url for card in cards)
        timings["codes"] = time.perf_counter() - started
        with qr.known_qr_codes(codes):
            pdf = business_card.render_sheets(cards, fonts)
        timings["render"] = time.perf_counter() - started - timings["codes"]
        db.session.commit()
        seconds = time.perf_counter() - started
        timings["commit"] = seconds - timings["render"] - timings["codes"]
        cpu_seconds = time.process_time() - cpu_started
        if profiler is not None:
            profiler.disable()
            import pstats

            for order in ("tottime", "cumulative"):
                stats = pstats.Stats(profiler, stream=sys.stderr)
                stats.strip_dirs().sort_stats(order).print_stats(25)
        peak = peak_rss_mb()
        if variant not in ("floor", "floor-no-accel"):
            stored_after = db.session.scalar(select(func.count()).select_from(QrCode))
        codes_found = len(codes)
        del codes
    if out:
        Path(out).write_bytes(pdf)
    return {
        "variant": variant,
        "cards": count,
        "pages": len(re.findall(rb"/Type /Page\b", pdf)),
        "seconds": seconds,
        "timings": timings,
        "cpu_seconds": cpu_seconds,
        "pdf_mb": len(pdf) / 1e6,
        "setup_rss_mb": setup_rss,
        "peak_rss_mb": peak,
        "encoded": encoded,
        "codes": codes_found,
        "stored_before": stored_before,
        "stored_after": stored_after,
        "zint": qr.zint is not None,
        "rl_accel": sorted(rl_accel._c_funcs),
        "url_length": len(cards[0].url),
    }


def child(
    variant: str, count: int, database_url: str, out: str | None, profile=False
) -> dict:
    """Run one variant in a fresh interpreter and return what it measured."""
    command = [sys.executable, __file__, "--child", variant, "--cards", str(count),
               "--database-url", database_url]  # fmt: skip
    if out:
        command += ["--out", out]
    if profile:
        command.append("--child-profile")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{variant} failed:\n{done.stderr}")
    if profile:
        print(done.stderr)
    return json.loads(done.stdout.splitlines()[-1])


def zbar(pdf: Path, page: int, png: Path, crop: tuple[int, ...] = ()) -> list[str]:
    """The codes zbarimg -q reads on one page (or a crop of it, in pixels) at 300 dpi."""
    area = []
    if crop:
        area = ["-x", str(crop[0]), "-y", str(crop[1]), "-W", str(crop[2]),
                "-H", str(crop[3])]  # fmt: skip
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", "-singlefile", "-f", str(page),
         "-l", str(page), *area, str(pdf), str(png.with_suffix(""))],
        check=True,
    )  # fmt: skip
    output = subprocess.run(
        ["zbarimg", "-q", str(png)], capture_output=True, text=True
    ).stdout
    return sorted(output.splitlines())


def check_page(pdf: Path, page: int, cards: list, workdir: Path) -> dict:
    """Each card of the page must decode to its own URL: whole page, else cropped."""
    from reportlab.lib.pagesizes import A4

    from crm.printing.business_card import CARD_HEIGHT, CARD_WIDTH, card_origins

    scale = DPI / 72
    on_page = cards[(page - 1) * 10 : page * 10]
    expected = sorted(f"QR-Code:{c.url}" for c in on_page)
    got = zbar(pdf, page, workdir / f"{pdf.stem}-{page}.png")
    result = {"expected": len(expected), "decoded": len(got)}
    result["pass"] = got == expected
    result["cropped_pass"] = result["pass"]
    if not result["pass"]:
        cropped = []
        for index, (card, (x, y)) in enumerate(
            zip(on_page, card_origins(), strict=False)
        ):
            cell = (round(x * scale), round((A4[1] - y - CARD_HEIGHT) * scale),
                    round(CARD_WIDTH * scale), round(CARD_HEIGHT * scale))  # fmt: skip
            png = workdir / f"{pdf.stem}-{page}-{index}.png"
            if zbar(pdf, page, png, cell) == [f"QR-Code:{card.url}"]:
                cropped.append(card.url)
        result["missing"] = sorted(set(expected) - set(got))
        result["unexpected"] = sorted(set(got) - set(expected))
        result["cropped_pass"] = len(cropped) == len(on_page)
    return result


def check_decoding(pdf: Path, cards: list, workdir: Path, every: bool) -> dict:
    """The first, middle and last page (or every page): see check_page."""
    pages = (len(cards) + 9) // 10
    chosen = range(1, pages + 1) if every else sorted({1, (pages + 1) // 2, pages})
    return {page: check_page(pdf, page, cards, workdir) for page in chosen}


def prepare_database(database_url: str) -> None:
    """Migrate to head (a new SQLite file, or a PostgreSQL database given)."""
    from flask_migrate import upgrade

    app = make_app(database_url)
    with app.app_context():
        upgrade()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--database-url",
        help="default: a new SQLite file in a temporary folder; its qr_codes "
        "table is emptied and refilled",
    )
    parser.add_argument(
        "--segno", action="store_true", help="also one cold run with segno alone"
    )
    parser.add_argument(
        "--decode-all", action="store_true", help="zbar every page of the cold PDF"
    )
    parser.add_argument(
        "--profile",
        choices=(*VARIANTS, "cold-segno"),
        help="instead of the benchmark, cProfile one run of this variant",
    )
    parser.add_argument(
        "--child", choices=(*VARIANTS, "cold-segno"), help=argparse.SUPPRESS
    )
    parser.add_argument("--child-profile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_variant(
            args.child, args.cards, args.database_url, args.out, args.child_profile
        )
        print(json.dumps(result))
        return 0

    import segno
    from reportlab import Version
    from reportlab.lib.rl_accel import _c_funcs

    from crm.printing import qr

    accel = sorted(_c_funcs)
    zint_version = qr.zint.__version__ if qr.zint else None
    print(
        f"reportlab {Version}, segno {segno.__version__}, zint-bindings "
        f"{zint_version or 'NOT INSTALLED'}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    print(f"rl_accel _c_funcs: {accel or 'EMPTY: pip install rl-accel'}")
    print(
        f"{args.cards:,} cards on {(args.cards + 9) // 10:,} A4 sheets, {args.runs} runs"
    )
    cards = make_cards(args.cards)
    version = qr.qr_modules(cards[0].url).side
    print(f"URLs: {len(cards[0].url)} characters, e.g. {cards[0].url} ({version} ×"
          f" {version} modules)")  # fmt: skip
    tools = [t for t in ("pdftoppm", "zbarimg") if shutil.which(t) is None]

    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    decoding: dict[str, dict] = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="bench-cards-") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
        prepare_database(database_url)
        if args.profile:
            if args.profile == "warm":  # the codes must be stored first
                child("cold", args.cards, database_url, None)
            print(f"\ncProfile of one {args.profile} run (tottime, then cumulative):")
            result = child(args.profile, args.cards, database_url, None, profile=True)
            print(
                f"{result['seconds']:.2f} s under cProfile, "
                f"{result['peak_rss_mb']:.0f} MB"
            )
            return 0
        if args.segno:
            runs["cold-segno"] = []
        for run in range(args.runs):  # interleaved, so drift hits every variant
            # cold-segno (first run only) empties and refills qr_codes like cold.
            extra = ("cold-segno",) if args.segno and run == 0 else ()
            for variant in (*VARIANTS, *extra):
                out = workdir / f"{variant}.pdf" if run == 0 else None
                loads.append(os.getloadavg()[0])
                result = child(
                    variant, args.cards, database_url, str(out) if out else None
                )
                runs[variant].append(result)
                print(
                    f"  run {run + 1} {variant:15} {result['seconds']:7.2f} s "
                    f"{result['peak_rss_mb']:6.0f} MB RSS  encoded "
                    f"{result['encoded']:,}, stored {result['stored_before']:,} → "
                    f"{result['stored_after']:,}",
                    flush=True,
                )
        if not tools:
            for variant in ("cold", "warm", "cold-segno"):
                if (workdir / f"{variant}.pdf").exists():
                    decoding[variant] = check_decoding(
                        workdir / f"{variant}.pdf",
                        cards,
                        workdir,
                        every=args.decode_all and variant == "cold",
                    )

    sheets = (args.cards + 9) // 10
    for variant, results in runs.items():
        if any(r["pages"] != sheets for r in results):
            print(f"WARNING: {variant} made {results[0]['pages']} pages, not {sheets}")
    without = runs["floor-no-accel"][0]["rl_accel"]
    print(f"floor-no-accel ran with rl_accel _c_funcs = {without or '{}'}")
    print(f"load average (1 min) before each child: {min(loads):.2f}–{max(loads):.2f}")

    summary = {}
    for variant, results in runs.items():
        summary[variant] = {
            "seconds": statistics.median(r["seconds"] for r in results),
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in results),
            "all_seconds": [round(r["seconds"], 2) for r in results],
            "codes_seconds": statistics.median(r["timings"]["codes"] for r in results),
            "render_seconds": statistics.median(
                r["timings"]["render"] for r in results
            ),
            "pdf_mb": results[0]["pdf_mb"],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "all_rss_mb": [round(r["peak_rss_mb"]) for r in results],
            "setup_rss_mb": max(r["setup_rss_mb"] for r in results),
            "pages": results[0]["pages"],
            "encoded": results[0]["encoded"],
            "codes": results[0]["codes"],
        }
    floor = summary["floor"]
    for row in summary.values():
        row["x_seconds"] = row["seconds"] / floor["seconds"]
        row["x_pdf"] = row["pdf_mb"] / floor["pdf_mb"]
        row["x_rss"] = row["peak_rss_mb"] / floor["peak_rss_mb"]

    print(
        "\n| variant | seconds, median (runs) | × floor | codes: read/encode/store s "
        "| encoded | PDF MB | peak RSS MB (runs) | × floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for variant, row in summary.items():
        print(
            f"| {variant} | {row['seconds']:.2f} ({', '.join(map(str, row['all_seconds']))})"
            f" | {row['x_seconds']:.2f} | {row['codes_seconds']:.2f}"
            f" | {row['encoded']:,} | {row['pdf_mb']:.1f}"
            f" | {row['peak_rss_mb']:.0f} ({', '.join(map(str, row['all_rss_mb']))})"
            f" | {row['x_rss']:.2f} |"
        )

    goals = {
        "rl_accel present": bool(accel),
        f"cold <= {COLD_MAX_RATIO:g}x floor": summary["cold"]["x_seconds"]
        <= COLD_MAX_RATIO,
        f"warm <= {WARM_MAX_RATIO:g}x floor (codes read from qr_codes)": summary[
            "warm"
        ]["x_seconds"]
        <= WARM_MAX_RATIO,
        "warm encoded no code": all(r["encoded"] == 0 for r in runs["warm"]),
        f"peak RSS < {RSS_MAX_MB:g} MB (every variant)": all(
            row["peak_rss_mb"] < RSS_MAX_MB for row in summary.values()
        ),
    }
    if tools:
        print(f"\nQR decoding NOT checked: {', '.join(tools)} not installed")
        goals["QR codes decode"] = False
    else:
        print(f"\nQR decoding (pdftoppm -r {DPI}, zbarimg -q):")
        for variant, pages in decoding.items():
            whole = sum(r["pass"] for r in pages.values())
            print(f"  {variant}: {whole}/{len(pages)} pages give exactly their 10 URLs")
            for page, result in pages.items():
                if len(pages) <= 3 or not result["pass"]:
                    verdict = "pass" if result["pass"] else "FAIL"
                    print(
                        f"    page {page:5}: {result['decoded']}/{result['expected']} "
                        f"codes on the whole page: {verdict}"
                    )
                if not result["pass"]:
                    for url in result["missing"]:
                        print(f"      missing    {url}")
                    for url in result["unexpected"]:
                        print(f"      unexpected {url}")
                    cropped = "pass" if result["cropped_pass"] else "FAIL"
                    print(f"      each card cropped alone: {cropped}")
        checked = [r for pages in decoding.values() for r in pages.values()]
        goals["every code decodes (zbarimg, each card)"] = all(
            r["cropped_pass"] for r in checked
        )
        goals["(info) whole pages decode in one zbarimg pass"] = all(
            r["pass"] for r in checked
        )
    print("\nGoals:")
    for goal, met in goals.items():
        if goal.startswith("(info)"):
            print(f"  {'yes   ' if met else 'no    '} {goal}")
        else:
            print(f"  {'met   ' if met else 'MISSED'} {goal}")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "cards": args.cards,
                    "runs": args.runs,
                    "reportlab": Version,
                    "zint_bindings": zint_version,
                    "rl_accel": accel,
                    "python": sys.version.split()[0],
                    "cpus": os.cpu_count(),
                    "load": [min(loads), max(loads)],
                    "url_length": len(cards[0].url),
                    "qr_side": version,
                    "variants": summary,
                    "raw": runs,
                    "decoding": decoding,
                    "goals": goals,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    return 0 if all(v for k, v in goals.items() if not k.startswith("(info)")) else 1


if __name__ == "__main__":
    sys.exit(main())
