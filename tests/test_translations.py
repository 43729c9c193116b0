"""The UI speaks Japanese first: every message has a Japanese translation, compiled."""

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

LC = (
    Path(__file__).resolve().parent.parent
    / "crm"
    / "translations"
    / "ja"
    / "LC_MESSAGES"
)


def test_every_message_has_a_japanese_translation():
    with open(LC / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []


def test_the_compiled_catalogue_matches_the_source():
    with open(LC / "messages.po", "rb") as handle:
        source = {m.id: m.string for m in read_po(handle) if m.id}
    with open(LC / "messages.mo", "rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == source, "run: python scripts/i18n.py"


def test_pages_switch_to_english(signed_in):
    staff = signed_in("staff")
    assert "新規登録" in staff.get("/likers/").get_data(as_text=True)
    staff.post_form("/language/en", {"next": "/likers/"}, token_from="/likers/")
    page = staff.get("/likers/").get_data(as_text=True)
    assert "New registration" in page and "新規登録" not in page
