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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    literal,
    or_,
    select,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from crm.database import SharedSnapshot, reading_only, shared_snapshot
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


class unindexed(FunctionElement):
    """The column itself; on SQLite written +column, which no index serves.

    Without STAT4, SQLite takes any range (registered on or before the as-of date,
    printed before it) to keep a quarter of the rows, and walks the index, then the
    table row by row, for nearly all of them: four times slower than reading the
    table. PostgreSQL knows the spread of the values and needs no hint.
    """

    inherit_cache = True

    def __init__(self, column):
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return "+" + compiler.process(element.clauses, **kw)


# Records that are not (or no longer, or not yet) Likers of their own.
NOT_LIKERS = ("merged", "pending", "rejected")


def _registered_as_of(as_of: date):
    return and_(
        # merged: counted in the record it was merged into; pending and rejected
        # public registrations are not (yet) Likers.
        Supporter.status.not_in(NOT_LIKERS),
        unindexed(Supporter.registered_on) <= as_of,
        or_(Supporter.withdrawn_on.is_(None), Supporter.withdrawn_on > as_of),
    )


def _not_counted(as_of: date):
    """The records that are not registered Likers as of the date: merged, pending or
    rejected, registered after it, or withdrawn by it (the opposite of
    _registered_as_of; status and registered_on are never NULL).

    Usually a few percent of the records, each group read from an index. Counting
    all links (categories, societies) and subtracting theirs reads no Liker rows;
    joining the registered Likers read every row of the wide table (PostgreSQL:
    0.1–0.3 s per breakdown at 200,000 Likers, docs/benchmarks.md).
    """
    return union(
        select(Supporter.id).where(Supporter.status.in_(NOT_LIKERS)),
        select(Supporter.id).where(Supporter.registered_on > as_of),
        select(Supporter.id).where(Supporter.withdrawn_on <= as_of),
    ).subquery("not_counted")


def _counted_links(key, supporter_id, as_of: date):
    """key and the number of links whose Liker is registered as of the date: all
    links per key, less the links of the records _not_counted finds (looked up
    from those records: an index on the links' supporter_id)."""
    links = supporter_id.table
    not_counted = _not_counted(as_of)
    every = select(key.label("key"), _count().label("links")).group_by(key)
    excluded = (
        select(key.label("key"), (-_count()).label("links"))
        .select_from(not_counted.join(links, supporter_id == not_counted.c.id))
        .group_by(key)
    )
    both = union_all(every, excluded).subquery("links")
    return select(both.c.key, _sum(both.c.links)).group_by(both.c.key)


def _issued_by(kind: str, as_of: date):
    """The Liker's first card (certificate) was printed by the end of the day;
    the first issue of each kind is kept on the Liker (migration 0009)."""
    first_issue = {"card": Supporter.card_issued_at,
                   "certificate": Supporter.certificate_issued_at}[kind]  # fmt: skip
    return unindexed(first_issue) < _end_of_day_utc(as_of)


# The upper limits of the age bands: younger than 20 is 10代以下, and so on.
AGE_BAND_LIMITS = ((20, "10代以下"), (30, "20代"), (40, "30代"), (50, "40代"),
                   (60, "50代"), (70, "60代"))  # fmt: skip


def years_before(day: date, years: int) -> date:
    """The latest birth date of someone who is that many years old on day."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February, in a year without one
        return date(day.year - years, 2, 28)


def age_band(birth_date: date | None, birth_year: int | None, as_of: date) -> str:
    """One Liker's age band, exactly as _age_band counts it in the database."""
    if birth_date is not None:
        for years, band in AGE_BAND_LIMITS:
            if birth_date > years_before(as_of, years):
                return band
        return "70代以上"
    if birth_year is not None:
        for years, band in AGE_BAND_LIMITS:
            if birth_year > as_of.year - years:
                return band
        return "70代以上"
    return "不明"


def _age_band(as_of: date):
    """The age band as of the date, from the birth date or else the birth year.

    Compared with the birth dates that turn 20, 30 … on the as-of date, so the
    database only compares values, row by row, and computes no ages.
    """
    by_date = case(
        *((Supporter.birth_date > years_before(as_of, n), band)
          for n, band in AGE_BAND_LIMITS),
        else_="70代以上",
    )  # fmt: skip
    by_year = case(
        *((Supporter.birth_year > as_of.year - n, band) for n, band in AGE_BAND_LIMITS),
        else_="70代以上",
    )
    return case(
        (Supporter.birth_date.is_not(None), by_date),
        (Supporter.birth_year.is_not(None), by_year),
        else_="不明",
    )


def _count(condition=None):
    """count(*), or of the rows meeting the condition, as a 4-byte integer.

    PostgreSQL sums bigint counts as numeric, slowly and with more memory (its
    hash aggregates of 65,000 Likers went to disk at the stock work_mem).
    """
    counted = func.count() if condition is None else func.count(case((condition, 1)))
    return cast(counted, Integer)


def _sum(column):
    return cast(func.sum(column), Integer)


LIKER_TOTALS = ("registered", "card_issued", "certificate_issued")


def liker_figures(period: Period) -> dict:
    """The Likers' totals and breakdowns: one pass over the registered Likers, then
    categories, the months of the period and the withdrawals in it.

    The pass groups the Likers by residence, prefecture, channel and age band
    together (a few thousand groups), and the database sums those groups up to
    each breakdown and to the totals. The Likers new in the period are the sum of
    the months, the withdrawals an index range: neither needs the pass.
    """
    registered = _registered_as_of(period.as_of)
    counted = Supporter.status.not_in(NOT_LIKERS)
    in_period = and_(counted, Supporter.registered_on.between(period.start, period.end))
    withdrawn = and_(counted, Supporter.withdrawn_on.between(period.start, period.end))
    band = _age_band(period.as_of)
    channel = func.coalesce(Supporter.channel_id, 0)
    prefecture = func.coalesce(Supporter.prefecture, "")
    residence = unindexed(Supporter.residence)  # SQLite: read the table in order
    groups = (
        select(
            residence.label("residence"),
            prefecture.label("prefecture"),
            channel.label("channel"),
            band.label("band"),
            _count().label("registered"),
            _count(_issued_by("card", period.as_of)).label("card_issued"),
            _count(_issued_by("certificate", period.as_of)).label("certificate_issued"),
        )
        .where(registered)
        .group_by(residence, prefecture, channel, band)
        .cte("liker_groups")
    )
    sums = [func.sum(groups.c[name]) for name in LIKER_TOTALS]
    totals = select(literal("total").label("kind"), literal("").label("value"), *sums)
    breakdowns = [
        select(
            literal(name).label("kind"), cast(groups.c[name], String), *sums
        ).group_by(groups.c[name])
        for name in ("residence", "prefecture", "channel", "band")
    ]
    rows = db.session.execute(
        union_all(totals, *breakdowns).order_by("kind", "value")
    ).all()
    counts: dict[str, dict] = {}
    # The totals first, in the order of docs/report.md.
    figures: dict = dict.fromkeys(("registered", "new_in_period", "withdrawn_in_period",
                                   "card_issued", "certificate_issued"), 0)  # fmt: skip
    for kind, value, *values in rows:
        if kind == "total":
            figures.update(
                zip(LIKER_TOTALS, (int(v or 0) for v in values), strict=True)
            )
        else:
            counts.setdefault(kind, {})[value] = int(values[0])

    figures["by_residence"] = [
        {"residence": r, "count": counts.get("residence", {}).get(r, 0)}
        for r in RESIDENCES
    ]
    figures["by_prefecture"] = [
        {"prefecture": p or "不明", "count": n}
        for p, n in counts.get("prefecture", {}).items()
    ]
    categories = dict(
        db.session.execute(
            _counted_links(
                supporter_categories.c.category_id,
                supporter_categories.c.supporter_id,
                period.as_of,
            )
        ).all()
    )
    figures["by_category"] = [
        {"category": c.name, "count": categories.get(c.id, 0)}
        for c in db.session.scalars(select(Category).order_by(Category.position))
        if c.active or categories.get(c.id)
    ]
    bands = counts.get("band", {})
    figures["by_age_band"] = [{"band": b, "count": bands.get(b, 0)} for b in AGE_BANDS]
    channels = {int(c): n for c, n in counts.get("channel", {}).items()}
    figures["by_channel"] = [
        {"channel": c.name, "count": channels.get(c.id, 0)}
        for c in db.session.scalars(select(Channel).order_by(Channel.position))
        if c.active or channels.get(c.id)
    ] + [{"channel": "不明", "count": channels.get(0, 0)}]
    month = extract("year", Supporter.registered_on) * 100 + extract(
        "month", Supporter.registered_on
    )
    months = dict(
        db.session.execute(
            select(month, func.count()).where(in_period).group_by(month)
        ).all()
    )
    figures["by_month"] = [
        {"month": f"{m // 100:04d}-{m % 100:02d}", "count": months.get(m, 0)}
        for m in _months(period.start, period.end)
    ]
    figures["new_in_period"] = sum(months.values())  # every month of the period
    figures["withdrawn_in_period"] = db.session.scalar(
        select(_count()).where(withdrawn)
    )
    return figures


def _months(start: date, end: date) -> list[int]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(year * 100 + month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _in_scope(period: Period):
    """Event days that count: in the period up to the as-of date, not cancelled.

    A condition on EventDay and Event, for statements that join both.
    """
    return and_(
        EventDay.day.between(period.start, period.events_end),
        Event.status != "cancelled",
    )


LEVELS = ("all", "theme", "event")


def event_figures(period: Period) -> dict[str, dict[int, EventFigures]]:
    """EventFigures for all events (key 0), per theme (0: none) and per event.

    Likers' attendance is counted in one statement for the three levels (its
    form depends on the database, its rows do not). Days, walk-ins and named
    guests are small aggregates per level.
    """
    figures: dict[str, dict[int, EventFigures]] = {level: {} for level in LEVELS}

    def slot(level: str, value) -> EventFigures:
        return figures[level].setdefault(int(value), EventFigures())

    if db.session.get_bind().dialect.name == "postgresql":
        statement = _liker_levels_grouping_sets(period)
    else:
        statement = _liker_levels_union(period)
    for (
        level,
        value,
        total,
        unique,
        total_outside,
        unique_outside,
        new,
    ) in db.session.execute(statement):
        if not unique:
            continue  # "all" without any participant
        figures_of = slot(level, value)
        figures_of.participations_likers = int(total)
        figures_of.unique_likers = int(unique)
        figures_of.participations_likers_outside = int(total_outside)
        figures_of.unique_likers_outside = int(unique_outside)
        figures_of.first_time_likers = int(new)

    keys = {"all": literal(0), "theme": func.coalesce(Event.theme_id, 0),
            "event": Event.id}  # fmt: skip
    for level, key in keys.items():
        for value, events, day_count in db.session.execute(
            select(key, func.count(distinct(Event.id)), func.count(EventDay.id))
            .select_from(EventDay)
            .join(Event, Event.id == EventDay.event_id)
            .where(_in_scope(period))
            .group_by(key)
        ):
            slot(level, value).count, slot(level, value).days = events, day_count
        walk_ins = select(
            key, WalkInCount.group, func.coalesce(func.sum(WalkInCount.count), 0)
        ).join(EventDay, EventDay.id == WalkInCount.event_day_id)
        guests = (
            select(key, Guest.group, func.count(Guest.id))
            .join(EventDay, EventDay.id == Guest.event_day_id)
            .where(Guest.supporter_id.is_(None))  # one who became a Liker counts as one
        )
        for statement in (walk_ins, guests):
            for value, people_group, count in db.session.execute(
                statement.join(Event, Event.id == EventDay.event_id)
                .where(_in_scope(period))
                .group_by(key, statement.selected_columns[1])
            ):
                if people_group == "citizen":
                    slot(level, value).participations_citizens += int(count)
                else:
                    slot(level, value).participations_visitors += int(count)
    for level in LEVELS:
        for figures_of in figures[level].values():
            figures_of.participations_total = (
                figures_of.participations_likers
                + figures_of.participations_citizens
                + figures_of.participations_visitors
            )
    return figures


def _liker_levels_union(period: Period):
    """Likers' participation per level, for SQLite (which has no GROUPING SETS).

    Each Liker's days per event (pairs), each participant once with where they
    live and whether they took part before the period (people), then every level
    sums pairs grouped by its key with the people's flags. No count(DISTINCT): a
    Liker is one row per event, per theme and overall.
    """
    pairs = (
        select(
            Event.id.label("event_id"),
            func.coalesce(Event.theme_id, 0).label("theme_id"),
            Attendance.supporter_id,
            _count().label("days"),
        )
        .select_from(Attendance)
        .join(EventDay, EventDay.id == Attendance.event_day_id)
        .join(Event, Event.id == EventDay.event_id)
        .where(_in_scope(period))
        .group_by(Event.id, Event.theme_id, Attendance.supporter_id)
        .cte("pairs")
    )
    persons = (
        select(pairs.c.supporter_id, _sum(pairs.c.days).label("days"))
        .group_by(pairs.c.supporter_id)
        .cte("persons")
    )
    # First time: the Liker's first event day ever (kept by the database, see
    # migration 0009) falls in the period; they have a day in it, so not after.
    first_time = Supporter.first_participated_on >= period.start
    people = (
        select(
            persons.c.supporter_id,
            persons.c.days,
            case((Supporter.residence.in_(OUTSIDE_TOWN), 1), else_=0).label("outside"),
            case((first_time, 1), else_=0).label("first_time"),
        )
        .join(Supporter, Supporter.id == persons.c.supporter_id)
        .cte("people")
    )
    themes = (
        select(pairs.c.theme_id, pairs.c.supporter_id, _sum(pairs.c.days).label("days"))
        .group_by(pairs.c.theme_id, pairs.c.supporter_id)
        .subquery("theme_pairs")
    )

    def sums(days, level: str, key):
        return select(
            literal(level).label("level"),
            key.label("key"),
            func.sum(days),
            func.count(),
            func.sum(days * people.c.outside),
            func.sum(people.c.outside),
            func.sum(people.c.first_time),
        )

    return union_all(
        sums(people.c.days, "all", literal(0)),
        sums(themes.c.days, "theme", themes.c.theme_id)
        .join(people, people.c.supporter_id == themes.c.supporter_id)
        .group_by(themes.c.theme_id),
        sums(pairs.c.days, "event", pairs.c.event_id)
        .join(people, people.c.supporter_id == pairs.c.supporter_id)
        .group_by(pairs.c.event_id),
    )


def _liker_levels_grouping_sets(period: Period):
    """Likers' participation per level, for PostgreSQL: one pass over the days.

    Each attendance row of the period, with its Liker's flags (outside the town,
    first time), is grouped at once into each Liker per event, per theme and
    overall (GROUPING SETS: three hash tables filled in a single scan), then each
    level is summed. The union form above read its pairs three times and spilled
    them to disk: 25–30 % more time here (docs/benchmarks.md).
    """
    outside = case((Supporter.residence.in_(OUTSIDE_TOWN), 1), else_=0)
    # As in the union form: the first event day ever falls in the period.
    first_time = case((Supporter.first_participated_on >= period.start, 1), else_=0)
    event_id = Event.id
    theme_id = func.coalesce(Event.theme_id, 0)
    supporter_id = Attendance.supporter_id
    level = func.grouping(event_id, theme_id)  # 1: per event, 2: per theme, 3: all
    per_liker = (
        select(
            level.label("level"),
            event_id.label("event_id"),
            theme_id.label("theme_id"),
            _count().label("days"),
            func.max(outside).label("outside"),
            func.max(first_time).label("first_time"),
        )
        .select_from(Attendance)
        .join(EventDay, EventDay.id == Attendance.event_day_id)
        .join(Event, Event.id == EventDay.event_id)
        .join(Supporter, Supporter.id == supporter_id)
        .where(_in_scope(period))
        .group_by(
            func.grouping_sets(
                tuple_(event_id, supporter_id),
                tuple_(theme_id, supporter_id),
                tuple_(supporter_id),
            )
        )
        .subquery("per_liker")
    )
    days, flags = per_liker.c.days, per_liker.c
    return select(
        case((flags.level == 1, "event"), (flags.level == 2, "theme"), else_="all"),
        case((flags.level == 1, flags.event_id), (flags.level == 2, flags.theme_id),
             else_=0),
        func.sum(days),
        func.count(),
        func.sum(days * flags.outside),
        func.sum(flags.outside),
        func.sum(flags.first_time),
    ).group_by(flags.level, flags.event_id, flags.theme_id)  # fmt: skip


def society_figures(period: Period) -> list[dict]:
    """Members per society (registered as of the date) and their participations."""
    memberships = SocietyMembership.__table__.c
    members = _counted_links(
        memberships.society_id, memberships.supporter_id, period.as_of
    )
    # From the days in scope to their attendance, then each Liker's memberships.
    participations = (
        select(SocietyMembership.society_id, func.count())
        .select_from(EventDay)
        .join(Event, Event.id == EventDay.event_id)
        .join(Attendance, Attendance.event_day_id == EventDay.id)
        .join(
            SocietyMembership,
            SocietyMembership.supporter_id == Attendance.supporter_id,
        )
        .where(_in_scope(period))
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
    likers, (levels, themes, events), societies = _gather_parts(period)
    overall = levels["all"].get(0, EventFigures())
    by_theme = [
        {"theme": themes.get(theme_id, "テーマなし"), **asdict(figures)}
        for theme_id, figures in sorted(
            levels["theme"].items(),
            key=lambda item: (item[0] == 0, themes.get(item[0], "")),
        )
    ]
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
            levels["event"].items(),
            key=lambda item: (events[item[0]].first_day or date.min, item[0]),
        )
    ]
    return Report(
        as_of=as_of,
        period_from=start,
        period_to=end,
        likers=likers,
        events=overall,
        by_theme=by_theme,
        by_event=by_event,
        societies=societies,
    )


@dataclass(frozen=True)
class EventName:
    title: str
    theme_id: int | None
    first_day: date | None


def _event_part(period: Period):
    """The event figures with the names of their events and themes, as plain values."""
    levels = event_figures(period)
    themes = dict(db.session.execute(select(Theme.id, Theme.name)).all())
    events = {
        event_id: EventName(title, theme_id, first_day)
        for event_id, title, theme_id, first_day in db.session.execute(
            select(Event.id, Event.title, Event.theme_id, Event.first_day).where(
                Event.id.in_(list(levels["event"]))
            )
        )
    }
    return levels, themes, events


def _likers_and_societies(period: Period):
    return liker_figures(period), society_figures(period)


def _gather_parts(period: Period):
    """The Likers', the events' and the societies' figures.

    The events' figures (the longest part) and the other two are counted at once
    on two connections that share one snapshot of the data (crm.database), so the
    report is as consistent as one statement: a third to two fifths less time on
    two CPUs (docs/benchmarks.md). When this transaction has written anything (the
    others could not see it), or the snapshot cannot be shared: in turn.
    """
    snapshot = shared_snapshot()
    if snapshot is None:
        likers, societies = _likers_and_societies(period)
        return likers, _event_part(period), societies
    app = current_app._get_current_object()
    try:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="report") as pool:
            events = pool.submit(_in_snapshot, app, snapshot, _event_part, period)
            others = pool.submit(
                _in_snapshot, app, snapshot, _likers_and_societies, period
            )
            snapshot.wait_until_joined(2)
            likers, societies = others.result()
            return likers, events.result(), societies
    finally:
        snapshot.close()


def _in_snapshot(app, snapshot: SharedSnapshot, part, period: Period):
    """Run part on a connection of its own, seeing exactly the shared snapshot."""
    # reading_only: on SQLite a deferred transaction, which takes no write lock.
    with app.app_context(), reading_only():
        options = {}
        if snapshot.isolation_level:
            options["isolation_level"] = snapshot.isolation_level
        connection = db.session.connection(execution_options=options)
        snapshot.join(connection)
        if connection.dialect.name == "postgresql":
            # The two connections already keep two CPUs busy: parallel workers on
            # top would only take turns with them.
            connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        try:
            return part(period)
        finally:
            db.session.rollback()
