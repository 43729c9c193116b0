"""Japanese text helpers: search keys for names and kana, kana validation.

Stored names are never normalised (NFC turns 渚 U+FA46 into U+6E1A). Only the derived
search keys are: NFKC (half-width ｶﾅ becomes full-width, full-width ＡＢＣ becomes ASCII),
katakana folded to hiragana, spaces removed, common variant kanji folded to their
everyday form so that 高山 finds 髙山.
"""

import re
import unicodedata

import jaconv

# Variant (異体字) forms common in family names, folded only in search keys.
VARIANT_KANJI = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "𠮷": "吉",
        "邊": "辺",
        "邉": "辺",
        "齋": "斎",
        "齊": "斉",
        "澤": "沢",
        "濵": "浜",
        "濱": "浜",
        "嶋": "島",
        "嶌": "島",
        "冨": "富",
        "德": "徳",
        "槗": "橋",
        "𣘺": "橋",
        "栁": "柳",
        "桒": "桑",
    }
)

_SPACES = re.compile(r"[\s\u3000]+")
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_KANA_ALLOWED = re.compile(
    r"^[\u3041-\u3096\u309b-\u309f\u30a0-\u30ff\uff66-\uff9f\s\u3000・]+$"
)
_DIGITS = re.compile(r"\D")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _VARIATION_SELECTORS.sub("", text)
    return _SPACES.sub("", text).lower()


def name_key(*parts: str | None) -> str:
    """Search key for a name written in kanji or Latin letters."""
    return _fold("".join(p for p in parts if p)).translate(VARIANT_KANJI)


def kana_key(*parts: str | None) -> str:
    """Search and sort key for a kana reading: hiragana, full width, no spaces."""
    return jaconv.kata2hira(_fold("".join(p for p in parts if p)))


def query_key(text: str) -> str:
    """A search box entry folded the same way as both kinds of key."""
    return kana_key(text).translate(VARIANT_KANJI)


def phone_key(phone: str | None) -> str:
    """Digits of a phone number (full-width digits count), without hyphens or spaces."""
    return _DIGITS.sub("", unicodedata.normalize("NFKC", phone or ""))


def email_key(email: str | None) -> str:
    return unicodedata.normalize("NFKC", email or "").strip().lower()


def is_kana(text: str) -> bool:
    """True when the text is hiragana or katakana (either width), spaces allowed."""
    return bool(_KANA_ALLOWED.match(text))


def without_control_characters(text: str) -> str:
    """Typed or scanned search text without NUL and other control characters
    (PostgreSQL refuses NUL in text; none of them can match a stored name)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc")
