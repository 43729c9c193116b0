from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.timeutil import utcnow

if TYPE_CHECKING:
    from crm.events.models import Event

PARTNER_KINDS = ("npo", "general_incorporated", "company", "school", "other")


class Partner(db.Model):
    """A partner organisation (連携法人) that co-runs events."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30), default="npo")
    contact_person: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    events: Mapped[list["Event"]] = relationship(
        secondary="event_partners", back_populates="partners"
    )
