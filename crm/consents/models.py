from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.timeutil import utcnow

# What a consent is about.
KINDS = ("privacy_notice", "news", "public_name")
# Where it was given: the public web form, the staff form, the event desk, an
# import file, or a paper form typed in by staff.
CHANNELS = ("web", "staff", "desk", "import", "paper")


class ConsentRecord(db.Model):
    """One consent given or withdrawn; rows are only ever added, never changed.

    The current state of a kind is the newest row of that kind for the Liker.
    """

    __tablename__ = "consent_records"
    __table_args__ = (
        Index("ix_consent_records_supporter", "supporter_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supporter_id: Mapped[int] = mapped_column(
        ForeignKey("supporters.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool]
    # The version of the purpose-of-use notice shown when this was recorded.
    notice_version: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The staff member who entered it; None when the person did it themselves.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
