"""Refresh the translation catalogues: extract messages, merge into each .po, compile .mo.

python scripts/i18n.py            # extract + update + compile
python scripts/i18n.py --check    # fail when a message has no Japanese translation
"""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "crm" / "translations"
POT = ROOT / "build" / "messages.pot"


def run(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT
    )


def untranslated(locale: str) -> list[str]:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    return [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]


def main() -> int:
    if "--check" not in sys.argv:
        POT.parent.mkdir(exist_ok=True)
        run("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location",
            "-o", str(POT), ".")  # fmt: skip
        for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
            run("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", po.parent.parent.name,
                "--no-fuzzy-matching")  # fmt: skip
        run("compile", "-d", str(TRANSLATIONS), "--statistics")
    missing = untranslated("ja")
    for message in missing:
        print(f"ja: no translation for {message!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
