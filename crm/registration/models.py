"""Public self-registration: event links, the registrations, the rate limit."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.events.models import Event, EventDay
from crm.extensions import db
from crm.supporters.models import Supporter
from crm.timeutil import utcnow


class EventRegistrationLink(db.Model):
    """A registration link for one event, printed as a QR poster.

    The token is 128 random bits; revoking it (a new one replaces it) makes
    posters already printed lead nowhere.
    """

    __tablename__ = "event_registration_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship()


class Registration(db.Model):
    """How a Liker registered themselves on the public form, and its review.

    submission_key is the random key of the form the person filled in: a double
    click posts it twice and the second is refused by the unique index. identity_key
    (a hash of the reading and the email or phone) refuses the same person
    registering twice at the same moment from two pages.
    """

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    supporter_id: Mapped[int] = mapped_column(
        ForeignKey("supporters.id", ondelete="CASCADE"), unique=True
    )
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    identity_key: Mapped[str] = mapped_column(String(64), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Registered through an event's link: checked in on this day (at approval
    # when registrations wait for review).
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL")
    )
    event_day_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_days.id", ondelete="SET NULL")
    )
    # Why it waits: "review" (the setting) or "duplicate" (looks like a Liker).
    held_for: Mapped[str | None] = mapped_column(String(20))
    # pending, approved, merged or rejected.
    outcome: Mapped[str] = mapped_column(String(10), default="pending")
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    supporter: Mapped[Supporter] = relationship()
    event_day: Mapped[EventDay | None] = relationship()


class RateLimitCounter(db.Model):
    """Requests per client and fixed time window, shared by every server worker.

    client is a keyed hash of the IP address (never the address itself).
    """

    __tablename__ = "rate_limit_counters"

    bucket: Mapped[str] = mapped_column(String(40), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
