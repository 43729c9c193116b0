"""Template filters and globals: labels that depend on the town, dates in Japan time."""

from datetime import date, datetime

from flask import Flask, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from crm.admin.services import get_settings
from crm.eras import format_era, format_japanese
from crm.timeutil import to_jst

# 夕張市 -> 市内 / 市外; 北海道 -> 道内 / 道外.
_TOWN_SUFFIXES = ("市", "町", "村", "区")


def town_terms() -> dict[str, str]:
    """The town's words for in town, outside and its residents: 市内/市外/市民,
    町内/町外/町民 or 村内/村外/村民, after the municipality's own name."""
    if str(get_locale()) == "en":
        return {
            "inside": "in town",
            "outside": "outside the town",
            "residents": "Citizens",
        }
    return japanese_town_terms(get_settings())


def japanese_town_terms(settings) -> dict[str, str]:
    """town_terms in Japanese whatever the screen's language, for documents; with
    the prefecture's words (県内/道内/府内/都内) too."""
    name = settings.municipality_name
    unit = name[-1:] if name[-1:] in _TOWN_SUFFIXES else "市"
    pref = settings.prefecture[-1:] if settings.prefecture else "県"
    return {
        "inside": f"{unit}内",
        "outside": f"{unit}外",
        "residents": f"{unit}民",
        "prefecture_inside": f"{pref}内",
        "prefecture_outside": f"{pref}外",
    }


def residence_label(residence: str) -> str:
    settings = get_settings()
    if str(get_locale()) == "en":
        labels = {
            "in_town": "In town",
            "in_prefecture": "Elsewhere in the prefecture",
            "outside_prefecture": "Outside the prefecture",
            "overseas": "Overseas",
            "unknown": "Unknown",
        }
    else:
        pref = settings.prefecture[-1:] if settings.prefecture else "県"
        labels = {
            "in_town": town_terms()["inside"],
            "in_prefecture": f"{pref}内",
            "outside_prefecture": f"{pref}外",
            "overseas": "海外",
            "unknown": "不明",
        }
    return labels.get(residence, residence)


def format_date(value: date | None, era: bool = False) -> str:
    if value is None:
        return ""
    if str(get_locale()) == "en":
        return value.isoformat()
    return format_era(value) if era else format_japanese(value)


def format_datetime(value: datetime | None) -> str:
    """Japan time: 2026年11月23日 5:02 (ISO style in English)."""
    local = to_jst(value)
    if local is None:
        return ""
    if str(get_locale()) == "en":
        return local.strftime("%Y-%m-%d %H:%M")
    return f"{format_japanese(local.date())} {local.hour}:{local.minute:02d}"


def format_time(value: datetime | None) -> str:
    """The time of day in Japan: 10:05."""
    local = to_jst(value)
    return "" if local is None else f"{local.hour}:{local.minute:02d}"


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (for pagination and sort)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        args[key] = [value]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register(app: Flask) -> None:
    app.jinja_env.filters["residence"] = residence_label
    app.jinja_env.filters["jdate"] = format_date
    app.jinja_env.filters["jdatetime"] = format_datetime
    app.jinja_env.filters["jtime"] = format_time
    app.jinja_env.globals["url_with"] = url_with

    @app.context_processor
    def town_context():
        settings = get_settings()
        return {
            "town": settings,
            "supporter_word": settings.supporter_word or _("Likers"),
            "current_locale": str(get_locale()),
            "terms": town_terms(),
        }
