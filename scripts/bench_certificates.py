"""Benchmark printing certificates: N A4 certificates (感謝状) in one PDF, per layout.

Like scripts/bench_cards.py (whose names, URLs and app set-up it reuses), each variant
runs in its own fresh subprocess so that its peak RSS is its own:

  floor  the same pages and text in the same fonts, draw_qr a no-op
  cold   qr_codes emptied first: every code encoded and stored while printing
  warm   every code already kept, as after the tokens were issued

Timed: matrices_for() + render_certificates() + commit. Reported: median seconds, PDF
MB and peak RSS MB, each with its ratio to the floor. The QR codes of the first and
last page of the cold PDF are read with zbarimg at 300 dpi.

    /tmp/venv/bin/python scripts/bench_certificates.py                 # 1,000, both layouts
    /tmp/venv/bin/python scripts/bench_certificates.py --count 200 --runs 1
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_cards  # noqa: E402  (names, URLs, app and RSS helpers)

VARIANTS = ("floor", "cold", "warm")
LAYOUTS = ("vertical", "horizontal")
BODY = (
    "あなたは令和八年四月一日に夕張Likers!に登録され、夕張市の関係人口の一員として"
    "まちを応援してくださっています。そのお気持ちに心から感謝し、ここに感謝状を贈ります。"
)


def make_certificates(count: int, layout: str) -> list:
    from crm.eras import format_era, format_era_kanji
    from crm.printing.certificate import CertificateData

    issued = date(2026, 11, 23)
    when = format_era_kanji(issued) if layout == "vertical" else format_era(issued)
    return [
        CertificateData(
            title="感謝状",
            name=card.name,
            body=BODY,
            date=when,
            issuer_title="夕張市長",
            issuer_name="厚谷 司",
            number=card.number,
            url=card.url,
            programme="夕張Likers!",
        )  # fmt: skip
        for card in bench_cards.make_cards(count)
    ]


def run_variant(variant: str, layout: str, count: int, database_url: str, out) -> dict:
    from sqlalchemy import delete

    from crm.documents import qr_store
    from crm.documents.models import QrCode
    from crm.extensions import db
    from crm.printing import certificate, qr
    from crm.printing.fonts import font_set

    app = bench_cards.make_app(database_url)
    fonts = font_set("mincho")
    data = make_certificates(count, layout)
    with app.app_context():
        if variant == "floor":
            certificate.draw_qr = lambda *args, **kwargs: None
        elif variant == "cold":
            db.session.execute(delete(QrCode))
            db.session.commit()
        started = time.perf_counter()
        codes = {} if variant == "floor" else qr_store.matrices_for(d.url for d in data)
        with qr.known_qr_codes(codes):
            pdf = certificate.render_certificates(data, layout, fonts)
        db.session.commit()
        seconds = time.perf_counter() - started
    if out:
        Path(out).write_bytes(pdf)
    return {
        "variant": variant, "layout": layout, "seconds": seconds,
        "pages": len(re.findall(rb"/Type /Page\b", pdf)), "pdf_mb": len(pdf) / 1e6,
        "peak_rss_mb": bench_cards.peak_rss_mb(),
    }  # fmt: skip


def child(variant, layout, count, database_url, out=None) -> dict:
    command = [sys.executable, __file__, "--child", variant, "--layout", layout,
               "--count", str(count), "--database-url", database_url]  # fmt: skip
    if out:
        command += ["--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{variant} {layout} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def decodes(pdf: Path, page: int, url: str, workdir: Path) -> bool:
    png = workdir / f"{pdf.stem}-{page}.png"
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-singlefile", "-f", str(page), "-l",
         str(page), str(pdf), str(png.with_suffix(""))], check=True,
    )  # fmt: skip
    found = subprocess.run(["zbarimg", "-q", str(png)], capture_output=True, text=True)
    return found.stdout.strip() == f"QR-Code:{url}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layout", choices=LAYOUTS)
    parser.add_argument("--database-url")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_variant(args.child, args.layout, args.count,
                                     args.database_url, args.out)))  # fmt: skip
        return 0
    layouts = (args.layout,) if args.layout else LAYOUTS
    print(f"{args.count:,} certificates per layout, {args.runs} runs, "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-certificates-") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
        bench_cards.prepare_database(database_url)
        data = make_certificates(args.count, "vertical")
        for layout in layouts:
            results = {v: [] for v in VARIANTS}
            for run in range(args.runs):
                for variant in VARIANTS:
                    out = workdir / f"{layout}-{variant}.pdf" if run == 0 else None
                    result = child(variant, layout, args.count, database_url, out)
                    results[variant].append(result)
                    print(f"  {layout:10} run {run + 1} {variant:5} "
                          f"{result['seconds']:6.2f} s {result['peak_rss_mb']:5.0f} MB")  # fmt: skip
            floor = statistics.median(r["seconds"] for r in results["floor"])
            print(f"\n{layout}: | variant | s | × floor | peak RSS MB | PDF MB |")
            for variant, rows in results.items():
                seconds = statistics.median(r["seconds"] for r in rows)
                rss = max(r["peak_rss_mb"] for r in rows)
                print(f"| {variant} | {seconds:.2f} | {seconds / floor:.2f} | {rss:.0f} "
                      f"| {rows[0]['pdf_mb']:.1f} |")  # fmt: skip
                failed |= rss >= 300
            if shutil.which("zbarimg") and shutil.which("pdftoppm"):
                pdf = workdir / f"{layout}-cold.pdf"
                for page in (1, args.count):
                    ok = decodes(pdf, page, data[page - 1].url, workdir)
                    print(f"  page {page}: QR {'decodes' if ok else 'DOES NOT DECODE'}")
                    failed |= not ok
            print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
