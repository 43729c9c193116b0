"""Changing events and attendance: check in, undo, count walk-ins. Callers commit."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, delete, exists, select, update

from crm.audit.services import record_event
from crm.database import upsert_insert
from crm.events.models import Attendance, Event, EventDay, Guest, WalkInCount
from crm.extensions import db
from crm.partners.models import Partner
from crm.supporters.models import Supporter
from crm.timeutil import utcnow


class EventError(Exception):
    """A change that would lose data or break a rule; the message is for the user."""


@dataclass
class EventData:
    title: str
    days: list[date]
    theme_id: int | None = None
    kind: str = "event"
    place: str | None = None
    location: str = "in_town"
    capacity: int | None = None
    description: str | None = None
    status: str = "planned"
    partner_ids: list[int] = field(default_factory=list)


def save_event(event: Event | None, data: EventData, user=None) -> Event:
    """Create or update an event with its days and partners.

    A day that already has check-ins cannot be removed: its attendance would go.
    """
    creating = event is None
    if creating:
        event = Event(created_by_id=user.id if user else None)
        db.session.add(event)
    wanted = sorted(set(data.days))
    if not wanted:
        raise EventError("no days")
    kept = []
    for day in list(event.days):
        if day.day in wanted:
            kept.append(day.day)
        elif day.id is not None and _day_has_records(day.id):
            raise EventError(day.day.isoformat())
        else:
            event.days.remove(day)
    for day in wanted:
        if day not in kept:
            event.days.append(EventDay(day=day))
    event.title = data.title
    event.theme_id = data.theme_id
    event.kind = data.kind
    event.place = data.place
    event.location = data.location
    event.capacity = data.capacity
    event.description = data.description
    event.status = data.status
    event.first_day = wanted[0]
    event.partners = (
        list(
            db.session.scalars(select(Partner).where(Partner.id.in_(data.partner_ids)))
        )
        if data.partner_ids
        else []
    )
    db.session.flush()
    record_event("create" if creating else "update", "event", event.id, user=user)
    return event


def delete_event(event: Event, user=None) -> None:
    """Remove an event made by mistake; one with any record of attendance stays."""
    if any(_day_has_records(day.id) for day in event.days):
        raise EventError("has records")
    record_event("delete", "event", event.id, user=user)
    db.session.delete(event)


def _day_has_records(day_id: int) -> bool:
    return db.session.scalar(
        select(
            exists().where(Attendance.event_day_id == day_id)
            | exists().where(Guest.event_day_id == day_id)
            | exists().where(WalkInCount.event_day_id == day_id, WalkInCount.count > 0)
        )
    )


@dataclass
class CheckInResult:
    created: bool
    attendance: Attendance


def check_in(
    day: EventDay,
    supporter: Supporter,
    role: str = "participant",
    method: str = "manual",
    user=None,
) -> CheckInResult:
    """Record that a Liker came on this day, once: a second check-in changes nothing.

    INSERT … ON CONFLICT DO NOTHING on (event_day_id, supporter_id): two desks
    scanning the same card at the same moment make one row on either database.
    """
    statement = (
        upsert_insert(Attendance)
        .values(
            event_day_id=day.id,
            supporter_id=supporter.id,
            role=role,
            checked_in_at=utcnow(),
            checked_in_by_id=user.id if user else None,
            method=method,
        )
        .on_conflict_do_nothing(index_elements=["event_day_id", "supporter_id"])
        .returning(Attendance)
    )
    attendance = db.session.scalars(statement).one_or_none()
    if attendance is not None:
        return CheckInResult(created=True, attendance=attendance)
    attendance = db.session.scalars(
        select(Attendance).where(
            Attendance.event_day_id == day.id, Attendance.supporter_id == supporter.id
        )
    ).one()
    return CheckInResult(created=False, attendance=attendance)


def undo_check_in(attendance: Attendance, user=None) -> None:
    """Remove a mistaken check-in; the audit log keeps who undid what."""
    record_event(
        "undo_check_in",
        "supporter",
        attendance.supporter_id,
        {
            "event_day_id": attendance.event_day_id,
            "checked_in_at": attendance.checked_in_at.isoformat(timespec="seconds"),
        },
        user=user,
    )
    db.session.execute(delete(Attendance).where(Attendance.id == attendance.id))
    # A guest who registered that day counts as a guest again, not as nobody.
    db.session.execute(
        update(Guest)
        .where(
            Guest.event_day_id == attendance.event_day_id,
            Guest.supporter_id == attendance.supporter_id,
        )
        .values(supporter_id=None)
    )


def change_role(attendance: Attendance, role: str, user=None) -> None:
    if attendance.role != role:
        attendance.role = role
        record_event(
            "update_attendance", "supporter", attendance.supporter_id,
            {"event_day_id": attendance.event_day_id, "role": role}, user=user,
        )  # fmt: skip


def change_walk_ins(day: EventDay, group: str, delta: int) -> int:
    """Add delta (+1 / −1) to a day's anonymous count for a group; never below 0."""
    new_count = case(
        (WalkInCount.count + delta < 0, 0), else_=WalkInCount.count + delta
    )
    statement = (
        upsert_insert(WalkInCount)
        .values(event_day_id=day.id, group=group, count=max(delta, 0))
        .on_conflict_do_update(
            index_elements=["event_day_id", "group"], set_={"count": new_count}
        )
        .returning(WalkInCount.count)
    )
    return db.session.execute(statement).scalar_one()


def set_walk_ins(day: EventDay, group: str, count: int, user=None) -> None:
    """Set a day's count for a group, e.g. typed in from a paper tally afterwards."""
    statement = (
        upsert_insert(WalkInCount)
        .values(event_day_id=day.id, group=group, count=count)
        .on_conflict_do_update(
            index_elements=["event_day_id", "group"], set_={"count": count}
        )
    )
    db.session.execute(statement)
    record_event(
        "set_walk_ins", "event_day", day.id, {"group": group, "count": count}, user=user
    )


def add_guest(
    day: EventDay,
    group: str,
    name: str,
    name_kana: str | None = None,
    contact: str | None = None,
    notes: str | None = None,
    user=None,
) -> Guest:
    guest = Guest(
        event_day_id=day.id, group=group, name=name, name_kana=name_kana,
        contact=contact, notes=notes, created_by_id=user.id if user else None,
    )  # fmt: skip
    db.session.add(guest)
    db.session.flush()
    record_event("create", "guest", guest.id, user=user)
    return guest


def remove_guest(guest: Guest, user=None) -> None:
    record_event(
        "delete", "guest", guest.id, {"event_day_id": guest.event_day_id}, user=user
    )
    db.session.delete(guest)


def convert_guest(guest: Guest, supporter: Supporter, user=None) -> CheckInResult:
    """A named guest registered as a Liker: they now count as a Liker that day."""
    guest.supporter_id = supporter.id
    return check_in(guest.event_day, supporter, method="new", user=user)


def mark_held(event: Event) -> None:
    """An event with check-ins has been held, whatever its planned status said."""
    if event.status == "planned":
        event.status = "held"
