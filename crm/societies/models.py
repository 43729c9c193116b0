from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.supporters.models import Supporter
from crm.timeutil import utcnow

MEMBERSHIP_ROLES = ("member", "officer")


class Society(db.Model):
    """A hometown society (ふるさと会) of people from the town in a big city."""

    __tablename__ = "societies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    region: Mapped[str | None] = mapped_column(String(100))
    contact_person: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SocietyMembership(db.Model):
    __tablename__ = "society_memberships"

    society_id: Mapped[int] = mapped_column(
        ForeignKey("societies.id", ondelete="CASCADE"), primary_key=True
    )
    supporter_id: Mapped[int] = mapped_column(
        ForeignKey("supporters.id"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20), default="member")
    since: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    society: Mapped[Society] = relationship()
    supporter: Mapped[Supporter] = relationship()
