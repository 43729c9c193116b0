from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.timeutil import utcnow


class Correction(db.Model):
    """One field of a Liker changed by staff (訂正): the old and new value, who, when.

    The values are personal data: erasing the Liker wipes them (values_erased)
    and keeps which field changed, when and by whom.
    """

    __tablename__ = "supporter_corrections"
    __table_args__ = (
        Index("ix_supporter_corrections_supporter", "supporter_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"))
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    corrected_at: Mapped[datetime] = mapped_column(default=utcnow)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    values_erased: Mapped[bool] = mapped_column(default=False)
