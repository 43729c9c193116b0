"""Clock helpers: times are stored in UTC without tzinfo, shown in Japan time."""

from datetime import UTC, date, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def today_jst() -> date:
    return datetime.now(JST).date()


def to_jst(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(JST)
