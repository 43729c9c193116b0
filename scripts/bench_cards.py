"""Benchmark printing Likers' business cards: N cards on A4 sheets of 10, in one PDF.

Every variant runs in its own fresh subprocess, once per --runs, so each run starts
cold (no QR code computed, no reportlab cache filled) and its peak RSS
(getrusage ru_maxrss) is its own:

  floor           the same sheets, the same text in the same fonts, draw_qr a no-op
  floor-no-accel  the floor with reportlab's C accelerator (rl-accel) kept out
  cold            the real render_sheets, every QR code encoded during the run
  warm            the same after qr_matrix() ran once for every URL (untimed), as the
                  code stands: its lru_cache keeps the last 4,096 codes only
  warm-kept       the same with every code kept (an unbounded cache stands in for
                  codes computed when the token is issued and stored): the reprint case

Timed: render_sheets() alone, with the fonts loaded and the card data built before.
Reported per variant: median seconds, PDF MB, peak RSS MB (1 MB = 10^6 bytes) and each
as a ratio to the floor of the same run. rl-accel must be installed (reportlab's
_c_funcs non-empty). The first page and the last page of the first run of each QR
variant are rendered at 300 dpi with pdftoppm and read with `zbarimg -q`: each page
must give exactly its own URLs. Certificates are not built yet, so only cards are
benchmarked. Exits 1 when a goal is missed: cold <= 10x the floor, warm <= 3x the
floor, peak RSS < 300 MB, rl-accel present, every checked page decodes.

    /tmp/venv/bin/python scripts/bench_cards.py
    /tmp/venv/bin/python scripts/bench_cards.py --cards 2000 --runs 5 --json /tmp/bench_cards.json
    /tmp/venv/bin/python scripts/bench_cards.py --profile cold   # only a cProfile'd run
"""

import argparse
import base64
import functools
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

VARIANTS = ("floor", "floor-no-accel", "cold", "warm", "warm-kept")
QR_VARIANTS = ("cold", "warm", "warm-kept")
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


def run_variant(variant: str, count: int, out: str | None, profile: bool) -> dict:
    """One run of one variant in this (fresh) process; the result as a dict."""
    if variant == "floor-no-accel":
        sys.modules["_rl_accel"] = None  # reportlab falls back to pure Python
    from reportlab.lib import rl_accel

    from crm.printing import business_card, qr
    from crm.printing.fonts import font_set

    fonts = font_set("gothic")
    cards = make_cards(count)
    if variant in ("floor", "floor-no-accel"):
        business_card.draw_qr = lambda *args, **kwargs: None
    qr.qr_matrix.cache_clear()
    if variant == "warm-kept":
        # Every supporter's code computed once and kept: nothing is evicted.
        qr.qr_matrix = functools.cache(qr.qr_matrix.__wrapped__)
    if variant in ("warm", "warm-kept"):
        for card in cards:
            qr.qr_matrix(card.url)
    setup_rss = peak_rss_mb()
    before = qr.qr_matrix.cache_info()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    cpu_started = time.process_time()
    pdf = business_card.render_sheets(cards, fonts)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
        import pstats

        for order in ("tottime", "cumulative"):
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.strip_dirs().sort_stats(order).print_stats(25)
    peak = peak_rss_mb()
    if out:
        Path(out).write_bytes(pdf)
    info = qr.qr_matrix.cache_info()  # during render_sheets only
    return {
        "variant": variant,
        "cards": count,
        "pages": len(re.findall(rb"/Type /Page\b", pdf)),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "pdf_mb": len(pdf) / 1e6,
        "setup_rss_mb": setup_rss,
        "peak_rss_mb": peak,
        "qr_cache": {
            "hits": info.hits - before.hits,
            "misses": info.misses - before.misses,
            "size": info.currsize,
        },
        "rl_accel": sorted(rl_accel._c_funcs),
        "url_length": len(cards[0].url),
    }


def child(variant: str, count: int, out: str | None, profile: bool = False) -> dict:
    """Run one variant in a fresh interpreter and return what it measured."""
    command = [sys.executable, __file__, "--child", variant, "--cards", str(count)]
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


def check_decoding(pdf: Path, cards: list, workdir: Path) -> dict:
    """First and last page: each must decode to exactly its own URLs.

    A page that fails is read again card by card (each cell cropped alone), to tell
    a code that does not decode from zbar missing one among many on a full page.
    """
    from reportlab.lib.pagesizes import A4

    from crm.printing.business_card import CARD_HEIGHT, CARD_WIDTH, card_origins

    pages = (len(cards) + 9) // 10
    scale = DPI / 72
    results = {}
    for page in sorted({1, pages}):
        on_page = cards[(page - 1) * 10 : page * 10]
        expected = sorted(f"QR-Code:{c.url}" for c in on_page)
        got = zbar(pdf, page, workdir / f"{pdf.stem}-{page}.png")
        result = {"expected": len(expected), "decoded": len(got)}
        result["pass"] = got == expected
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
        results[page] = result
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--profile",
        choices=VARIANTS,
        help="instead of the benchmark, cProfile one run of this variant",
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(
            json.dumps(
                run_variant(args.child, args.cards, args.out, args.child_profile)
            )
        )
        return 0

    import segno
    from reportlab import Version
    from reportlab.lib.rl_accel import _c_funcs

    accel = sorted(_c_funcs)
    print(
        f"reportlab {Version}, segno {segno.__version__}, Python {sys.version.split()[0]}"
    )
    print(f"rl_accel _c_funcs: {accel or 'EMPTY: pip install rl-accel'}")
    print(
        f"{args.cards:,} cards on {(args.cards + 9) // 10:,} A4 sheets, {args.runs} runs"
    )
    print("certificates: not built yet, not benchmarked")
    cards = make_cards(args.cards)
    version = segno.make_qr(cards[0].url, error="m", boost_error=False).designator
    print(f"URLs: {len(cards[0].url)} characters, e.g. {cards[0].url} (QR {version})")
    tools = [t for t in ("pdftoppm", "zbarimg") if shutil.which(t) is None]

    if args.profile:
        print(f"\ncProfile of one {args.profile} run (tottime, then cumulative):")
        result = child(args.profile, args.cards, None, profile=True)
        print(
            f"{result['seconds']:.2f} s under cProfile, {result['peak_rss_mb']:.0f} MB"
        )
        return 0

    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    decoding: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cards-") as tmp:
        workdir = Path(tmp)
        for run in range(args.runs):  # interleaved, so drift hits every variant
            for variant in VARIANTS:
                out = workdir / f"{variant}.pdf" if run == 0 else None
                result = child(variant, args.cards, str(out) if out else None)
                runs[variant].append(result)
                print(
                    f"  run {run + 1} {variant:15} {result['seconds']:7.2f} s "
                    f"{result['peak_rss_mb']:6.0f} MB RSS",
                    flush=True,
                )
        if not tools:
            for variant in QR_VARIANTS:
                decoding[variant] = check_decoding(
                    workdir / f"{variant}.pdf", cards, workdir
                )

    sheets = (args.cards + 9) // 10
    for variant, results in runs.items():
        if any(r["pages"] != sheets for r in results):
            print(f"WARNING: {variant} made {results[0]['pages']} pages, not {sheets}")
    without = runs["floor-no-accel"][0]["rl_accel"]
    print(f"floor-no-accel ran with rl_accel _c_funcs = {without or '{}'}")

    summary = {}
    for variant, results in runs.items():
        summary[variant] = {
            "seconds": statistics.median(r["seconds"] for r in results),
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in results),
            "all_seconds": [round(r["seconds"], 3) for r in results],
            "pdf_mb": results[0]["pdf_mb"],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "setup_rss_mb": max(r["setup_rss_mb"] for r in results),
            "pages": results[0]["pages"],
            "qr_cache": results[0]["qr_cache"],
        }
    floor = summary["floor"]
    for row in summary.values():
        row["x_seconds"] = row["seconds"] / floor["seconds"]
        row["x_pdf"] = row["pdf_mb"] / floor["pdf_mb"]
        row["x_rss"] = row["peak_rss_mb"] / floor["peak_rss_mb"]

    print(
        "\n| variant | seconds (median) | × floor | PDF MB | × floor | peak RSS MB "
        "| × floor | RSS before render | qr_matrix hits/misses in render |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for variant, row in summary.items():
        cache = row["qr_cache"]
        print(
            f"| {variant} | {row['seconds']:.2f} ({', '.join(map(str, row['all_seconds']))})"
            f" | {row['x_seconds']:.2f} | {row['pdf_mb']:.1f} | {row['x_pdf']:.2f}"
            f" | {row['peak_rss_mb']:.0f} | {row['x_rss']:.2f}"
            f" | {row['setup_rss_mb']:.0f} | {cache['hits']:,}/{cache['misses']:,} |"
        )

    goals = {
        "rl_accel present": bool(accel),
        f"cold <= {COLD_MAX_RATIO:g}x floor": summary["cold"]["x_seconds"]
        <= COLD_MAX_RATIO,
        f"warm <= {WARM_MAX_RATIO:g}x floor (lru_cache as is)": summary["warm"][
            "x_seconds"
        ]
        <= WARM_MAX_RATIO,
        f"warm-kept <= {WARM_MAX_RATIO:g}x floor (every code kept)": summary[
            "warm-kept"
        ]["x_seconds"]
        <= WARM_MAX_RATIO,
        f"peak RSS < {RSS_MAX_MB:g} MB (every variant)": all(
            row["peak_rss_mb"] < RSS_MAX_MB for row in summary.values()
        ),
    }
    if tools:
        print(f"\nQR decoding NOT checked: {', '.join(tools)} not installed")
        goals["QR codes decode"] = False
    else:
        print("\nQR decoding (pdftoppm -r 300, zbarimg -q), first and last page:")
        for variant, pages in decoding.items():
            for page, result in pages.items():
                verdict = "pass" if result["pass"] else "FAIL"
                print(
                    f"  {variant:10} page {page:5}: {result['decoded']}/"
                    f"{result['expected']} codes, exactly its URLs: {verdict}"
                )
                if not result["pass"]:
                    for url in result["missing"]:
                        print(f"      missing    {url}")
                    for url in result["unexpected"]:
                        print(f"      unexpected {url}")
                    cropped = "pass" if result["cropped_pass"] else "FAIL"
                    print(f"      each card cropped alone: {cropped}")
        checked = [r for pages in decoding.values() for r in pages.values()]
        goals["QR codes decode, whole page (zbarimg)"] = all(r["pass"] for r in checked)
        goals["QR codes decode, each card cropped (zbarimg)"] = all(
            r["pass"] or r["cropped_pass"] for r in checked
        )
    print("\nGoals:")
    for goal, met in goals.items():
        print(f"  {'met   ' if met else 'MISSED'} {goal}")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "cards": args.cards,
                    "runs": args.runs,
                    "reportlab": Version,
                    "rl_accel": accel,
                    "python": sys.version.split()[0],
                    "cpus": os.cpu_count(),
                    "url_length": len(cards[0].url),
                    "qr_version": version,
                    "variants": summary,
                    "raw": runs,
                    "decoding": decoding,
                    "goals": goals,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
