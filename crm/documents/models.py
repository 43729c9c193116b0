from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
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


class QrCode(db.Model):
    """A QR code's modules, kept by the exact text it encodes.

    A Liker's code only changes when the token is reissued (or the public address
    changes), so it is computed once, when the token is issued, and reprints read
    it from here. The key is the whole URL: a changed address never reuses a code.
    """

    __tablename__ = "qr_codes"

    data: Mapped[str] = mapped_column(String(500), primary_key=True)
    side: Mapped[int]  # modules per side, without the quiet zone
    modules: Mapped[bytes] = mapped_column(LargeBinary)  # row by row, bit-packed


IMAGE_KINDS = ("logo", "seal")


class DocumentImage(db.Model):
    """An uploaded image printed on the documents: the programme logo, the seal (公印).

    Kept in the database so that backups and a move to PostgreSQL carry it along.
    """

    __tablename__ = "document_images"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)  # PNG, re-encoded on upload
    width: Mapped[int]
    height: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


JOB_STATES = ("queued", "running", "done", "failed")


class PrintJob(db.Model):
    """A big print run done in the background; its PDF waits here for download.

    The selection is frozen when staff ask for it: the job prints the people they
    saw, even if the list changes meanwhile.
    """

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # in URLs
    kind: Mapped[str] = mapped_column(String(20))
    layout: Mapped[str] = mapped_column(String(20))
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    supporter_ids: Mapped[list] = mapped_column(JSON)
    record_issue: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(100))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
