"""The ministry report: every figure counted by the database, for a period and a date.

Definitions (docs/report.md has them for readers of the report):
- A Liker is *registered as of* a date when registered on or before it and not
  withdrawn on or before it.
- Events count when not cancelled and one of their days lies in the period, up to
  the as-of date. Participations (延べ) count each Liker once per event day, plus
  the citizens and visitors counted at the door (walk-ins and named guests who are
  not Likers).
- Likers *outside the town* live in the prefecture, elsewhere in Japan or abroad;
  Likers whose address is unknown count in neither group.
- A Liker takes part *for the first time* when their first event day ever lies in
  the period.
"""

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, distinct, extract, func, literal, or_, select

from crm.documents.models import Issuance
from crm.events.models import Attendance, Event, EventDay, Guest, Theme, WalkInCount
from crm.extensions import db
from crm.societies.models import Society, SocietyMembership
from crm.supporters.models import (
    RESIDENCES,
    Category,
    Channel,
    Supporter,
    supporter_categories,
)
from crm.timeutil import JST

OUTSIDE_TOWN = ("in_prefecture", "outside_prefecture", "overseas")
AGE_BANDS = ("10代以下", "20代", "30代", "40代", "50代", "60代", "70代以上", "不明")
EVENT_KEYS = (
    "count", "days", "participations_total", "participations_likers",
    "participations_citizens", "participations_visitors", "unique_likers",
    "participations_likers_outside", "unique_likers_outside", "first_time_likers",
)  # fmt: skip


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    as_of: date

    @property
    def events_end(self) -> date:
        """Events count up to the as-of date, never beyond the period."""
        return min(self.end, self.as_of)


def fiscal_year(year: int) -> tuple[date, date]:
    """Japan's fiscal year: April of that year to March of the next."""
    return date(year, 4, 1), date(year + 1, 3, 31)


def fiscal_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def _end_of_day_utc(day: date) -> datetime:
    """The first moment after day, in Japan, as the naive UTC the database keeps."""
    start = datetime.combine(day + timedelta(days=1), time(), JST)
    return start.astimezone(UTC).replace(tzinfo=None)


@dataclass
class EventFigures:
    count: int = 0
    days: int = 0
    participations_total: int = 0
    participations_likers: int = 0
    participations_citizens: int = 0
    participations_visitors: int = 0
    unique_likers: int = 0
    participations_likers_outside: int = 0
    unique_likers_outside: int = 0
    first_time_likers: int = 0


@dataclass
class Report:
    as_of: date
    period_from: date
    period_to: date
    likers: dict = field(default_factory=dict)
    events: EventFigures = field(default_factory=EventFigures)
    by_theme: list[dict] = field(default_factory=list)
    by_event: list[dict] = field(default_factory=list)
    societies: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The JSON form, with the stable keys documented in docs/report.md."""
        return {
            "as_of": self.as_of.isoformat(),
            "period": {
                "from": self.period_from.isoformat(),
                "to": self.period_to.isoformat(),
            },
            "likers": self.likers,
            "events": asdict(self.events),
            "by_theme": self.by_theme,
            "by_event": self.by_event,
            "societies": self.societies,
        }


def _registered_as_of(as_of: date):
    return and_(
        Supporter.status != "merged",  # counted in the record it was merged into
        Supporter.registered_on <= as_of,
        or_(Supporter.withdrawn_on.is_(None), Supporter.withdrawn_on > as_of),
    )


def _issued_by(kind: str, as_of: date):
    return Supporter.id.in_(
        select(Issuance.supporter_id).where(
            Issuance.kind == kind, Issuance.issued_at < _end_of_day_utc(as_of)
        )
    )


def _age_band(as_of: date):
    """The age band as of the date, from the birth date or else the birth year."""
    birthday_later = (
        extract("month", Supporter.birth_date) * 100
        + extract("day", Supporter.birth_date)
    ) > (as_of.month * 100 + as_of.day)
    age = case(
        (
            Supporter.birth_date.is_not(None),
            as_of.year
            - extract("year", Supporter.birth_date)
            - case((birthday_later, 1), else_=0),
        ),
        (Supporter.birth_year.is_not(None), as_of.year - Supporter.birth_year),
        else_=None,
    )
    return case(
        (age.is_(None), "不明"),
        (age < 20, "10代以下"),
        (age < 30, "20代"),
        (age < 40, "30代"),
        (age < 50, "40代"),
        (age < 60, "50代"),
        (age < 70, "60代"),
        else_="70代以上",
    )


def liker_figures(period: Period) -> dict:
    registered = _registered_as_of(period.as_of)
    counted = Supporter.status != "merged"
    in_period = and_(counted, Supporter.registered_on.between(period.start, period.end))
    row = db.session.execute(
        select(
            func.count(case((registered, 1))),
            func.count(case((in_period, 1))),
            func.count(
                case(
                    (
                        and_(
                            counted,
                            Supporter.withdrawn_on.between(period.start, period.end),
                        ),
                        1,
                    )
                )
            ),
            func.count(case((and_(registered, _issued_by("card", period.as_of)), 1))),
            func.count(
                case((and_(registered, _issued_by("certificate", period.as_of)), 1))
            ),
        )
    ).one()
    figures = dict(
        zip(
            ("registered", "new_in_period", "withdrawn_in_period", "card_issued",
             "certificate_issued"),
            row,
            strict=True,
        )
    )  # fmt: skip

    def grouped(key, *joins, where=registered, order=None):
        statement = select(key, func.count(distinct(Supporter.id))).where(where)
        for join in joins:
            statement = statement.join(*join)
        statement = statement.group_by(key)
        return db.session.execute(statement.order_by(order or key)).all()

    by_residence = dict(grouped(Supporter.residence))
    figures["by_residence"] = [
        {"residence": r, "count": by_residence.get(r, 0)} for r in RESIDENCES
    ]
    figures["by_prefecture"] = [
        {"prefecture": p or "不明", "count": n}
        for p, n in grouped(func.coalesce(Supporter.prefecture, ""))
    ]
    categories = dict(
        grouped(
            Category.id,
            (supporter_categories, supporter_categories.c.supporter_id == Supporter.id),
            (Category, Category.id == supporter_categories.c.category_id),
        )
    )
    figures["by_category"] = [
        {"category": c.name, "count": categories.get(c.id, 0)}
        for c in db.session.scalars(select(Category).order_by(Category.position))
        if c.active or categories.get(c.id)
    ]
    bands = dict(grouped(_age_band(period.as_of)))
    figures["by_age_band"] = [{"band": b, "count": bands.get(b, 0)} for b in AGE_BANDS]
    channels = dict(grouped(func.coalesce(Supporter.channel_id, 0)))
    figures["by_channel"] = [
        {"channel": c.name, "count": channels.get(c.id, 0)}
        for c in db.session.scalars(select(Channel).order_by(Channel.position))
        if c.active or channels.get(c.id)
    ] + [{"channel": "不明", "count": channels.get(0, 0)}]
    month = extract("year", Supporter.registered_on) * 100 + extract(
        "month", Supporter.registered_on
    )
    months = dict(grouped(month, where=in_period))
    figures["by_month"] = [
        {"month": f"{m // 100:04d}-{m % 100:02d}", "count": months.get(m, 0)}
        for m in _months(period.start, period.end)
    ]
    return figures


def _months(start: date, end: date) -> list[int]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(year * 100 + month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _days_in_scope(period: Period):
    """Event days that count: in the period up to the as-of date, not cancelled."""
    return (
        select(EventDay.id)
        .join(Event, Event.id == EventDay.event_id)
        .where(
            EventDay.day.between(period.start, period.events_end),
            Event.status != "cancelled",
        )
    )


def event_figures(period: Period, group: str | None = None) -> dict:
    """EventFigures for all events (group None), per theme or per event, by key.

    Four aggregate queries, each grouped the same way: days and events, Likers'
    attendance, walk-in counts, named guests who are not Likers.
    """
    days = _days_in_scope(period)
    key = {None: literal(0), "theme": func.coalesce(Event.theme_id, 0),
           "event": Event.id}[group]  # fmt: skip
    first_day = (
        select(
            Attendance.supporter_id.label("supporter_id"),
            func.min(EventDay.day).label("first_day"),
        )
        .join(EventDay, EventDay.id == Attendance.event_day_id)
        .group_by(Attendance.supporter_id)
        .subquery()
    )
    outside = Supporter.residence.in_(OUTSIDE_TOWN)
    first_time = first_day.c.first_day.between(period.start, period.events_end)
    figures: dict = {}

    def slot(value) -> EventFigures:
        return figures.setdefault(value, EventFigures())

    for value, events, day_count in db.session.execute(
        select(key, func.count(distinct(Event.id)), func.count(EventDay.id))
        .select_from(EventDay)
        .join(Event, Event.id == EventDay.event_id)
        .where(EventDay.id.in_(days))
        .group_by(key)
    ):
        slot(value).count, slot(value).days = events, day_count
    for value, total, unique, total_outside, unique_outside, new in db.session.execute(
        select(
            key,
            func.count(Attendance.id),
            func.count(distinct(Attendance.supporter_id)),
            func.count(case((outside, 1))),
            func.count(distinct(case((outside, Attendance.supporter_id)))),
            func.count(distinct(case((first_time, Attendance.supporter_id)))),
        )
        .select_from(Attendance)
        .join(EventDay, EventDay.id == Attendance.event_day_id)
        .join(Event, Event.id == EventDay.event_id)
        .join(Supporter, Supporter.id == Attendance.supporter_id)
        .join(first_day, first_day.c.supporter_id == Attendance.supporter_id)
        .where(Attendance.event_day_id.in_(days))
        .group_by(key)
    ):
        figures_of = slot(value)
        figures_of.participations_likers = total
        figures_of.unique_likers = unique
        figures_of.participations_likers_outside = total_outside
        figures_of.unique_likers_outside = unique_outside
        figures_of.first_time_likers = new
    walk_ins = select(
        key, WalkInCount.group, func.coalesce(func.sum(WalkInCount.count), 0)
    ).join(EventDay, EventDay.id == WalkInCount.event_day_id)
    guests = (
        select(key, Guest.group, func.count(Guest.id))
        .join(EventDay, EventDay.id == Guest.event_day_id)
        .where(Guest.supporter_id.is_(None))  # one who became a Liker counts as one
    )
    for statement, day_column in ((walk_ins, WalkInCount.event_day_id),
                                  (guests, Guest.event_day_id)):  # fmt: skip
        for value, people_group, count in db.session.execute(
            statement.join(Event, Event.id == EventDay.event_id)
            .where(day_column.in_(days))
            .group_by(key, statement.selected_columns[1])
        ):
            if people_group == "citizen":
                slot(value).participations_citizens += int(count)
            else:
                slot(value).participations_visitors += int(count)
    for figures_of in figures.values():
        figures_of.participations_total = (
            figures_of.participations_likers
            + figures_of.participations_citizens
            + figures_of.participations_visitors
        )
    return figures


def society_figures(period: Period) -> list[dict]:
    """Members per society (registered as of the date) and their participations."""
    days = _days_in_scope(period)
    members = (
        select(
            SocietyMembership.society_id,
            func.count(distinct(SocietyMembership.supporter_id)),
        )
        .join(Supporter, Supporter.id == SocietyMembership.supporter_id)
        .where(_registered_as_of(period.as_of))
        .group_by(SocietyMembership.society_id)
    )
    participations = (
        select(SocietyMembership.society_id, func.count(Attendance.id))
        .join(Attendance, Attendance.supporter_id == SocietyMembership.supporter_id)
        .where(Attendance.event_day_id.in_(days))
        .group_by(SocietyMembership.society_id)
    )
    member_counts = dict(db.session.execute(members).all())
    participation_counts = dict(db.session.execute(participations).all())
    return [
        {
            "society": society.name,
            "members": member_counts.get(society.id, 0),
            "participations": participation_counts.get(society.id, 0),
        }
        for society in db.session.scalars(select(Society).order_by(Society.name))
    ]


def compute_report(start: date, end: date, as_of: date) -> Report:
    period = Period(start, end, as_of)
    overall = event_figures(period).get(0, EventFigures())
    per_theme = event_figures(period, "theme")
    themes = {t.id: t.name for t in db.session.scalars(select(Theme))}
    by_theme = [
        {"theme": themes.get(theme_id, "テーマなし"), **asdict(figures)}
        for theme_id, figures in sorted(
            per_theme.items(), key=lambda item: (item[0] == 0, themes.get(item[0], ""))
        )
    ]
    per_event = event_figures(period, "event")
    events = {
        e.id: e
        for e in db.session.scalars(select(Event).where(Event.id.in_(list(per_event))))
    }
    by_event = [
        {
            "event_id": event_id,
            "title": events[event_id].title,
            "theme": themes.get(events[event_id].theme_id, "テーマなし"),
            "first_day": events[event_id].first_day.isoformat()
            if events[event_id].first_day
            else None,
            **asdict(figures),
        }
        for event_id, figures in sorted(
            per_event.items(),
            key=lambda item: (events[item[0]].first_day or date.min, item[0]),
        )
    ]
    return Report(
        as_of=as_of,
        period_from=start,
        period_to=end,
        likers=liker_figures(period),
        events=overall,
        by_theme=by_theme,
        by_event=by_event,
        societies=society_figures(period),
    )
