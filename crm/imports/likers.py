"""One row of a Likers file: read into SupporterData, or every problem it has.

Rows are checked like the registration form checks what staff type, with what lists
bring in addition: one 氏名 column split at the space, era dates (平成3年4月1日),
dates Excel keeps as dates, an address that starts with its prefecture, several
categories in one cell.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from crm.admin.services import PREFECTURES
from crm.eras import DateParseError, parse_date
from crm.japanese import is_kana, phone_key, without_control_characters
from crm.supporters.forms import postal_code_of
from crm.supporters.services import SupporterData
from crm.timeutil import today_jst

YES = {
    "1",
    "はい",
    "有",
    "あり",
    "希望",
    "希望する",
    "○",
    "◯",
    "〇",
    "y",
    "yes",
    "true",
    "済",
}
NO = {"", "0", "いいえ", "無", "なし", "不要", "希望しない", "×", "n", "no", "false"}
_SPLIT_NAME = re.compile(r"[\s\u3000]+")
_SPLIT_LIST = re.compile(r"[、,，/／;；・\n]+")
# 「・」 also joins words inside one name (家族・親族), so category cells split on
# it only where the whole piece is not a category itself.
_SPLIT_NAMES = re.compile(r"[、,，/／;；\n]+")
_MUNICIPALITY = re.compile(r"^(.+?郡.+?[町村]|.+?市.+?区|.+?[市区町村])")


def _category_names(cell: str, known: dict[str, int]) -> list[str]:
    """The category names in a cell: 「家族・親族、ファン」 or 「出身・ファン」."""
    names = []
    for piece in _SPLIT_NAMES.split(cell):
        piece = piece.strip()
        if not piece:
            continue
        parts = [part.strip() for part in piece.split("・")]
        start = 0
        while start < len(parts):
            # The longest run of parts that names a category, else one part.
            end = next(
                (end for end in range(len(parts), start, -1)
                 if fold("・".join(parts[start:end])) in known),
                start + 1,
            )  # fmt: skip
            if name := "・".join(parts[start:end]):
                names.append(name)
            start = end
    return names


@dataclass
class Lookups:
    """Names of the reference lists, for matching cells: folded name -> id."""

    categories: dict[str, int]
    channels: dict[str, int]


@dataclass
class LikerRow:
    line: int
    data: SupporterData | None
    registration_number: str | None = None
    problems: list[str] = field(default_factory=list)


def fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).lower()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if not text.isprintable():  # printable text has no control characters
        text = without_control_characters(text)
    return text.strip()


Label = str | Callable[[], str]  # a callable is translated only for a problem


def _label(label: Label) -> str:
    return label() if callable(label) else label


def _date(value, problems: list[str], label: Label) -> date | None:
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        return parse_date(text)
    except DateParseError:
        problems.append(_("%(label)s “%(text)s” is not a date that exists.",
                          label=_label(label), text=text))  # fmt: skip
        return None


def _flag(value, problems: list[str], label: Label) -> bool:
    text = fold(_text(value))
    if text in YES:
        return True
    if text not in NO:
        problems.append(_("%(label)s: write はい or いいえ (not “%(text)s”).",
                          label=_label(label), text=_text(value)))  # fmt: skip
    return False


def _split(text: str) -> tuple[str, str]:
    parts = _SPLIT_NAME.split(text.strip(), maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def read_liker_row(line: int, cells: dict[str, object], lookups: Lookups) -> LikerRow:
    """cells: field -> cell value of this row (only the mapped fields)."""
    problems: list[str] = []
    text = {name: _text(value) for name, value in cells.items()}
    family, given = text.get("family_name", ""), text.get("given_name", "")
    if not family and text.get("full_name"):
        family, given = _split(text["full_name"])
    family_kana, given_kana = (
        text.get("family_name_kana", ""),
        text.get("given_name_kana", ""),
    )
    if not family_kana and text.get("full_kana"):
        family_kana, given_kana = _split(text["full_kana"])
    if not family:
        problems.append(_("The name is missing."))
    if not family_kana:
        problems.append(_("The reading (kana) of the name is missing."))
    elif not is_kana(family_kana + given_kana):
        problems.append(_("The reading “%(text)s” is not in kana.",
                          text=f"{family_kana} {given_kana}".strip()))  # fmt: skip
    for label, value, limit in ((lambda: _("Name"), family + given, 200),
                                (lambda: _("Notes"), text.get("notes", ""), 5000)):  # fmt: skip
        if len(value) > limit:
            problems.append(_("%(label)s is longer than %(limit)s characters.",
                              label=label(), limit=limit))  # fmt: skip

    email = text.get("email", "") or None
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(_("“%(text)s” is not an email address.", text=email))
    phone = text.get("phone", "") or None
    if phone and not 7 <= len(phone_key(phone)) <= 15:
        problems.append(_("“%(text)s” is not a phone number.", text=phone))
    postal = text.get("postal_code", "")
    if len(phone_key(postal)) == 6 and phone_key(postal) == postal:
        postal = "0" + postal  # Excel keeps 068-0400 typed as a number as 680400
    postal_code = postal_code_of(postal) if postal else None
    if postal and postal_code is None:
        problems.append(_("“%(text)s” is not a postal code (7 digits).", text=postal))

    prefecture = text.get("prefecture", "") or None
    municipality = text.get("municipality", "") or None
    address = text.get("address", "") or None
    if prefecture is None and address:
        prefecture = next((p for p in PREFECTURES if address.startswith(p)), None)
        if prefecture:
            address = address[len(prefecture) :].strip() or None
    if prefecture and prefecture not in PREFECTURES:
        problems.append(_("“%(text)s” is not a prefecture.", text=prefecture))
    if municipality is None and address and (found := _MUNICIPALITY.match(address)):
        municipality, address = found.group(1), address[found.end() :].strip() or None

    birth_date = _date(cells.get("birth_date"), problems, lambda: _("Date of birth"))
    if birth_date and not (date(1900, 1, 1) <= birth_date <= today_jst()):
        problems.append(_("The date of birth %(date)s is not between 1900 and today.",
                          date=birth_date.isoformat()))  # fmt: skip
    birth_year = None
    if text.get("birth_year"):
        year_text = unicodedata.normalize("NFKC", text["birth_year"]).rstrip("年")
        if year_text.isdigit() and 1900 <= int(year_text) <= today_jst().year:
            birth_year = int(year_text)
        else:
            problems.append(
                _("“%(text)s” is not a year of birth.", text=text["birth_year"])
            )
    registered_on = _date(
        cells.get("registered_on"), problems, lambda: _("Registered on")
    )
    if registered_on and registered_on > today_jst():
        problems.append(_("The registration date %(date)s is in the future.",
                          date=registered_on.isoformat()))  # fmt: skip

    category_ids = []
    for name in _category_names(text.get("categories", ""), lookups.categories):
        found_id = lookups.categories.get(fold(name))
        if found_id is None:
            problems.append(_("“%(text)s” is not a relationship category.", text=name))
        elif found_id not in category_ids:
            category_ids.append(found_id)
    channel_id = None
    if text.get("channel"):
        channel_id = lookups.channels.get(fold(text["channel"]))
        if channel_id is None:
            problems.append(_("“%(text)s” is not a channel.", text=text["channel"]))
    news = (
        _flag(cells.get("news_opt_in"), problems, lambda: _("News"))
        if "news_opt_in" in cells
        else False
    )
    public = (
        _flag(cells.get("show_name_publicly"), problems,
              lambda: _("Name on the public page"))
        if "show_name_publicly" in cells else False
    )  # fmt: skip
    number = text.get("registration_number") or None
    if problems:
        return LikerRow(line, None, number, problems)
    data = SupporterData(
        family_name=family,
        given_name=given,
        family_name_kana=family_kana,
        given_name_kana=given_kana,
        name_romaji=text.get("name_romaji") or None,
        birth_date=birth_date,
        birth_year=birth_date.year if birth_date else birth_year,
        gender=text.get("gender") or None,
        email=email,
        phone=phone,
        postal_code=postal_code,
        prefecture=prefecture,
        municipality=municipality,
        address=address,
        country=text.get("country") or None,
        channel_id=channel_id,
        registered_on=registered_on,
        news_opt_in=news,
        notes=text.get("notes") or None,
        show_name_publicly=public,
        category_ids=category_ids,
        tag_names=[
            t.strip() for t in _SPLIT_LIST.split(text.get("tags", "")) if t.strip()
        ],
    )
    return LikerRow(line, data, number)
