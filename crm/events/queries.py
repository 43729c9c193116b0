"""Reading events and attendance: lists, rosters, totals computed in the database."""

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from flask import abort
from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    distinct,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import joinedload, selectinload

from crm.admin.services import get_settings
from crm.events.models import (
    Attendance,
    Event,
    EventDay,
    Guest,
    Theme,
    WalkInCount,
)
from crm.extensions import db
from crm.supporters.models import Supporter
from crm.supporters.queries import (
    SupporterFilter,
    find_by_public_token,
    list_reference_items,
    matching_keys,
    search_branches,
    surviving_supporter,
)
from crm.supporters.tokens import token_from_scan
from crm.timeutil import today_jst

OUTSIDE_TOWN = ("in_prefecture", "outside_prefecture", "overseas")


@dataclass
class EventFilter:
    q: str = ""
    status: str = ""  # planned, held, cancelled or "" for all
    theme_id: int | None = None
    when: str = "all"  # upcoming, past or all


def list_events(filters: EventFilter, page: int, per_page: int):
    query = select(Event).options(
        joinedload(Event.theme), selectinload(Event.days), selectinload(Event.partners)
    )
    if filters.q:
        query = query.where(Event.title.contains(filters.q.strip(), autoescape=True))
    if filters.status:
        query = query.where(Event.status == filters.status)
    if filters.theme_id:
        query = query.where(Event.theme_id == filters.theme_id)
    today = today_jst()
    last_day = (
        select(func.max(EventDay.day))
        .where(EventDay.event_id == Event.id)
        .scalar_subquery()
    )
    if filters.when == "upcoming":
        query = query.where(last_day >= today).order_by(Event.first_day, Event.id)
    elif filters.when == "past":
        query = query.where(last_day < today).order_by(
            Event.first_day.desc(), Event.id.desc()
        )
    else:
        query = query.order_by(Event.first_day.desc(), Event.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def list_recent_events(limit: int = 200) -> list[Event]:
    """Events for a filter menu: the latest first."""
    return list(
        db.session.scalars(
            select(Event).order_by(Event.first_day.desc(), Event.id.desc()).limit(limit)
        )
    )


def get_event_or_404(event_id: int) -> Event:
    event = db.session.get(
        Event,
        event_id,
        options=[selectinload(Event.days), selectinload(Event.partners)],
    )
    if event is None:
        abort(404)
    return event


def get_day_or_404(event_id: int, day_id: int) -> EventDay:
    """An event day, only through its own event (a day id of another event is 404)."""
    day = db.session.get(EventDay, day_id, options=[joinedload(EventDay.event)])
    if day is None or day.event_id != event_id:
        abort(404)
    return day


def list_themes(active_only: bool = False) -> list[Theme]:
    return list_reference_items(Theme, active_only)


def day_roster(day_id: int) -> list[Attendance]:
    """Who checked in on a day, the latest first."""
    return list(
        db.session.scalars(
            select(Attendance)
            .where(Attendance.event_day_id == day_id)
            .options(joinedload(Attendance.supporter))
            .order_by(Attendance.checked_in_at.desc(), Attendance.id.desc())
        )
    )


def recent_check_ins(day_id: int, limit: int = 8) -> list[Attendance]:
    return list(
        db.session.scalars(
            select(Attendance)
            .where(Attendance.event_day_id == day_id)
            .options(joinedload(Attendance.supporter))
            .order_by(Attendance.id.desc())
            .limit(limit)
        )
    )


def list_guests(day_ids: list[int]) -> list[Guest]:
    return list(
        db.session.scalars(
            select(Guest)
            .where(Guest.event_day_id.in_(day_ids))
            .order_by(Guest.event_day_id, Guest.id)
        )
    )


@dataclass
class Totals:
    """Participation figures: 延べ (each attendance) and 実人数 (each Liker once).

    Walk-ins and named guests are not Likers: citizens (市民) live in town and other
    visitors do not. Likers are placed by where they live now.
    """

    liker_participations: int = 0
    unique_likers: int = 0
    likers_in_town: int = 0
    likers_outside: int = 0
    likers_unknown: int = 0
    unique_likers_in_town: int = 0
    unique_likers_outside: int = 0
    citizens: int = 0
    visitors: int = 0

    @property
    def participations(self) -> int:
        return self.liker_participations + self.citizens + self.visitors

    @property
    def in_town(self) -> int:
        return self.likers_in_town + self.citizens

    @property
    def outside(self) -> int:
        return self.likers_outside + self.visitors


def _non_liker_totals(on_days) -> list:
    """Walk-ins and named guests (not yet Likers) on the chosen days, per group:
    citizens then visitors, as scalar subqueries."""

    def total(model, group: str, value):
        condition = [on_days(model.event_day_id), model.group == group]
        if model is Guest:
            condition.append(Guest.supporter_id.is_(None))  # not yet a Liker
        return select(func.coalesce(value, 0)).where(*condition).scalar_subquery()

    return [
        total(WalkInCount, "citizen", func.sum(WalkInCount.count)),
        total(WalkInCount, "visitor", func.sum(WalkInCount.count)),
        total(Guest, "citizen", func.count(Guest.id)),
        total(Guest, "visitor", func.count(Guest.id)),
    ]


def _totals_statement(scope: str) -> Select:
    """One SELECT for every figure of an event ("event") or a day ("day").

    Built once per scope with a bound :key, so the desk, which asks after every
    scan, pays neither the statement construction nor extra round trips.
    """
    key = bindparam("key", type_=Integer)

    def on_days(column):
        if scope == "day":
            return column == key
        return column.in_(select(EventDay.id).where(EventDay.event_id == key))

    in_town = Supporter.residence == "in_town"
    outside = Supporter.residence.in_(OUTSIDE_TOWN)
    return (
        select(
            func.count(Attendance.id),
            func.count(distinct(Attendance.supporter_id)),
            func.count(case((in_town, 1))),
            func.count(case((outside, 1))),
            func.count(distinct(case((in_town, Attendance.supporter_id)))),
            func.count(distinct(case((outside, Attendance.supporter_id)))),
            *_non_liker_totals(on_days),
        )
        .select_from(Attendance)
        .join(Supporter, Supporter.id == Attendance.supporter_id)
        .where(on_days(Attendance.event_day_id))
    )


_TOTALS = {scope: _totals_statement(scope) for scope in ("event", "day")}


def compute_totals(event_id: int | None = None, day_id: int | None = None) -> Totals:
    """Totals for one event (all its days) or for one day, in one aggregate query."""
    if day_id is not None:
        row = db.session.execute(_TOTALS["day"], {"key": day_id}).one()
    else:
        row = db.session.execute(_TOTALS["event"], {"key": event_id}).one()
    (participations, unique, in_town, outside, unique_in_town, unique_outside,
     walk_in_citizens, walk_in_visitors, guest_citizens, guest_visitors) = row  # fmt: skip
    return Totals(
        liker_participations=participations,
        unique_likers=unique,
        likers_in_town=in_town,
        likers_outside=outside,
        likers_unknown=participations - in_town - outside,
        unique_likers_in_town=unique_in_town,
        unique_likers_outside=unique_outside,
        citizens=int(walk_in_citizens) + int(guest_citizens),
        visitors=int(walk_in_visitors) + int(guest_visitors),
    )


def _desk_counts_statement() -> Select:
    key = bindparam("key", type_=Integer)
    return select(
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.event_day_id == key)
        .scalar_subquery(),
        *_non_liker_totals(lambda column: column == key),
    )


_DESK_COUNTS = _desk_counts_statement()


def desk_counts(day_id: int) -> dict[str, int]:
    """The running figures a desk shows after every scan, without touching supporters.

    Read from the day's own rows only (the unique index on attendances answers the
    count), so the answer costs the same whatever the size of the registry.
    """
    likers, walk_in_citizens, walk_in_visitors, guest_citizens, guest_visitors = (
        db.session.execute(_DESK_COUNTS, {"key": day_id}).one()
    )
    citizens = int(walk_in_citizens) + int(guest_citizens)
    visitors = int(walk_in_visitors) + int(guest_visitors)
    return {
        "liker_participations": likers,
        "citizens": citizens,
        "visitors": visitors,
        "participations": likers + citizens + visitors,
    }


def walk_in_counts(day_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(WalkInCount.group, WalkInCount.count).where(
            WalkInCount.event_day_id == day_id
        )
    ).all()
    return {group: count for group, count in rows}


@dataclass
class Participation:
    day: date
    event_id: int
    title: str
    theme: str | None
    role: str
    checked_in_at: datetime


def supporter_participations(supporter_id: int) -> list[Participation]:
    """A Liker's attendance history, the latest first."""
    rows = db.session.execute(
        select(
            EventDay.day,
            Event.id,
            Event.title,
            Theme.name,
            Attendance.role,
            Attendance.checked_in_at,
        )  # fmt: skip
        .select_from(Attendance)
        .join(EventDay, EventDay.id == Attendance.event_day_id)
        .join(Event, Event.id == EventDay.event_id)
        .outerjoin(Theme, Theme.id == Event.theme_id)
        .where(Attendance.supporter_id == supporter_id)
        .order_by(EventDay.day.desc(), Event.id.desc())
    ).all()
    return [Participation(*row) for row in rows]


# --- the check-in desk -------------------------------------------------------


@dataclass
class ScanMatch:
    supporter: Supporter | None
    method: str  # scan or number; "" when nothing matched


def find_by_code(text: str) -> ScanMatch:
    """What a desk input names exactly: a QR token (URL or bare) or a number.

    A merged-away Liker's token or number finds the record it was merged into.
    """
    token = token_from_scan(text)
    if token:
        supporter = surviving_supporter(find_by_public_token(token))
        if supporter is not None:
            return ScanMatch(supporter, "scan")
    number = unicodedata.normalize("NFKC", text or "").strip().upper()
    if not number:
        return ScanMatch(None, "")
    candidates = [number]
    if number.isdigit() and len(number) <= 12:
        candidates.append(get_settings().format_number(int(number)))
    supporter = surviving_supporter(
        db.session.scalar(
            select(Supporter)
            .where(Supporter.registration_number.in_(candidates))
            .limit(1)
        )
    )
    return ScanMatch(supporter, "number" if supporter else "")


def search_candidates(text: str, limit: int = 9) -> list[Supporter]:
    """Active Likers whose name, kana, email or phone starts with the text.

    The same index-only UNION as the Likers list, so it stays fast at a million.
    """
    if not search_branches(text):
        return []
    hits = matching_keys(SupporterFilter(q=text, status="active", sort="kana"))
    page = (
        select(hits.c.id)
        .order_by(hits.c.kana_key, hits.c.id)
        .limit(literal_column(str(int(limit))))
        .subquery("page")
    )
    query = (
        select(Supporter)
        .join(page, Supporter.id == page.c.id)
        .order_by(Supporter.kana_key, Supporter.id)
    )
    return list(db.session.scalars(query))


def checked_in_at(day_id: int, supporter_ids: list[int]) -> dict[int, datetime]:
    if not supporter_ids:
        return {}
    rows = db.session.execute(
        select(Attendance.supporter_id, Attendance.checked_in_at).where(
            and_(
                Attendance.event_day_id == day_id,
                Attendance.supporter_id.in_(supporter_ids),
            )
        )
    ).all()
    return dict(rows)
