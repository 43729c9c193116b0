from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.timeutil import utcnow

DOCUMENT_KINDS = ("card", "certificate")


class Issuance(db.Model):
    """The ledger of printed documents: who printed what for whom, and when.

    "Card issued" and "certificate issued" in the reports come from here.
    """

    __tablename__ = "issuances"
    __table_args__ = (Index("ix_issuances_supporter_kind", "supporter_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"))
    kind: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reissue: Mapped[bool] = mapped_column(default=False)
