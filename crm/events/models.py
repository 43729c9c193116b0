from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.supporters.models import Supporter
from crm.timeutil import utcnow

if TYPE_CHECKING:
    from crm.partners.models import Partner

EVENT_KINDS = ("event", "workshop", "tour", "meeting", "pr", "online")
EVENT_STATUSES = ("planned", "held", "cancelled")
# Where an event takes place, relative to the town (PR in Tokyo is "outside").
EVENT_LOCATIONS = ("in_town", "outside", "online")
ATTENDANCE_ROLES = ("participant", "volunteer", "speaker", "helper")
# Participants who are not Likers are counted by group.
GUEST_GROUPS = ("citizen", "visitor")

event_partners = Table(
    "event_partners",
    db.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("partner_id", ForeignKey("partners.id"), primary_key=True, index=True),
)


class Theme(db.Model):
    """What an event works on (歴史・文化の継承, …): an admin-edited list."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="event")
    place: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(20), default="in_town")
    capacity: Mapped[int | None]
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    first_day: Mapped[date | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    theme: Mapped[Theme | None] = relationship()
    partners: Mapped[list["Partner"]] = relationship(
        secondary=event_partners, order_by="Partner.name", back_populates="events"
    )
    days: Mapped[list["EventDay"]] = relationship(
        back_populates="event", order_by="EventDay.day", cascade="all, delete-orphan"
    )


class EventDay(db.Model):
    """One day of an event: attendance is counted per day."""

    __tablename__ = "event_days"
    __table_args__ = (UniqueConstraint("event_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(index=True)

    event: Mapped[Event] = relationship(back_populates="days")


class Attendance(db.Model):
    """A Liker checked in on an event day: at most one row per Liker and day."""

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("event_day_id", "supporter_id"),
        Index("ix_attendances_supporter", "supporter_id", "event_day_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_day_id: Mapped[int] = mapped_column(
        ForeignKey("event_days.id", ondelete="CASCADE")
    )
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"))
    role: Mapped[str] = mapped_column(String(20), default="participant")
    checked_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # How the Liker was found: scan, number, search, new (registered at the desk).
    method: Mapped[str] = mapped_column(String(20), default="manual")

    event_day: Mapped[EventDay] = relationship()
    supporter: Mapped[Supporter] = relationship()


class WalkInCount(db.Model):
    """Participants who are not Likers, counted without names per day and group."""

    __tablename__ = "walk_in_counts"
    __table_args__ = (CheckConstraint("count >= 0", name="not_negative"),)

    event_day_id: Mapped[int] = mapped_column(
        ForeignKey("event_days.id", ondelete="CASCADE"), primary_key=True
    )
    group: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class Guest(db.Model):
    """A participant who is not a Liker, written down by name (may register later).

    Counted with their group on that day, on top of the anonymous walk-in count,
    until they register: then the guest row points at the new Liker and their
    attendance counts as a Liker's instead.
    """

    __tablename__ = "guests"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_day_id: Mapped[int] = mapped_column(
        ForeignKey("event_days.id", ondelete="CASCADE"), index=True
    )
    group: Mapped[str] = mapped_column(String(20), default="citizen")
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(254))
    notes: Mapped[str | None] = mapped_column(Text)
    supporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("supporters.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    event_day: Mapped[EventDay] = relationship()
