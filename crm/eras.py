"""Japanese era (和暦) dates: parsing what staff type and formatting for documents."""

import re
import unicodedata
from datetime import date

# (name, abbreviation, first day). 明治 is counted from the Gregorian adoption.
ERAS = (
    ("令和", "R", date(2019, 5, 1)),
    ("平成", "H", date(1989, 1, 8)),
    ("昭和", "S", date(1926, 12, 25)),
    ("大正", "T", date(1912, 7, 30)),
    ("明治", "M", date(1873, 1, 1)),
)
_ERA_BY_KEY = {key: era for era in ERAS for key in (era[0], era[1])}

_ERA_DATE = re.compile(
    r"^(?P<era>令和|平成|昭和|大正|明治|[RHSTM])\s*(?P<year>元|\d{1,2})\s*[年./-]\s*"
    r"(?P<month>\d{1,2})\s*[月./-]\s*(?P<day>\d{1,2})\s*日?$",
    re.IGNORECASE,
)
_WESTERN_DATE = re.compile(
    r"^(?P<year>\d{4})\s*[年./-]\s*(?P<month>\d{1,2})\s*[月./-]\s*(?P<day>\d{1,2})\s*日?$"
)
_COMPACT_DATE = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})$")


class DateParseError(ValueError):
    """The text is not a date we can read, or names a day that does not exist."""


def era_for(day: date) -> tuple[str, int]:
    for name, _abbr, start in ERAS:
        if day >= start:
            return name, day.year - start.year + 1
    raise ValueError(f"{day} is before the eras this system knows")


def format_era(day: date) -> str:
    """2019-05-01 -> 令和元年5月1日."""
    name, year = era_for(day)
    year_text = "元" if year == 1 else str(year)
    return f"{name}{year_text}年{day.month}月{day.day}日"


_KANJI_DIGITS = "〇一二三四五六七八九"


def kanji_number(value: int) -> str:
    """1..99 in kanji numerals as on certificates: 十, 十一, 二十三."""
    if not 0 < value < 100:
        raise ValueError(f"{value} is outside 1..99")
    tens, ones = divmod(value, 10)
    text = ""
    if tens:
        text = ("" if tens == 1 else _KANJI_DIGITS[tens]) + "十"
    return text + (_KANJI_DIGITS[ones] if ones else "")


def format_era_kanji(day: date) -> str:
    """2026-11-23 -> 令和八年十一月二十三日, for vertical certificates (賞状)."""
    name, year = era_for(day)
    year_text = "元" if year == 1 else kanji_number(year)
    return f"{name}{year_text}年{kanji_number(day.month)}月{kanji_number(day.day)}日"


def format_fiscal_year(year: int) -> str:
    """The fiscal year from April of year, in the era: 2019 -> 令和元年度.

    Named by the era of May 1st, so that 2019 (平成 until April 30th) is 令和元年度,
    as the government named it.
    """
    name, era_year = era_for(date(year, 5, 1))
    return f"{name}{'元' if era_year == 1 else era_year}年度"


def format_japanese(day: date) -> str:
    """2019-05-01 -> 2019年5月1日."""
    return f"{day.year}年{day.month}月{day.day}日"


def parse_date(text: str) -> date:
    """Read 2019-05-01, 2019/5/1, 20190501, 令和元年5月1日, R1.5.1, 昭和55年4月1日."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    if not value:
        raise DateParseError("empty")
    try:
        if match := _ERA_DATE.match(value):
            name, _abbr, start = _ERA_BY_KEY[match["era"].upper()]
            era_year = 1 if match["year"] == "元" else int(match["year"])
            day = date(
                start.year + era_year - 1, int(match["month"]), int(match["day"])
            )
            if day < start or era_year < 1:
                raise DateParseError(f"{name}{era_year}年 does not include this day")
            following = [e for e in ERAS if e[2] > start]
            if following and day >= following[-1][2]:
                raise DateParseError(f"{name} had ended by this day")
            return day
        match = _WESTERN_DATE.match(value) or _COMPACT_DATE.match(value)
        if match:
            return date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError as error:  # 2月30日 and the like
        raise DateParseError(str(error)) from error
    raise DateParseError(f"not a date: {text!r}")
