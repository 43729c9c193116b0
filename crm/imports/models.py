from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.timeutil import utcnow

IMPORT_KINDS = ("likers", "attendance", "memberships")


class ImportUpload(db.Model):
    """A file being imported, kept between the wizard's steps (upload, columns,
    preview, commit) and removed after a day; only its uploader sees it."""

    __tablename__ = "import_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    encoding: Mapped[str] = mapped_column(String(20), default="auto")
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # column index -> field
    decisions: Mapped[dict] = mapped_column(JSON, default=dict)  # line -> action
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    state: Mapped[str] = mapped_column(String(20), default="uploaded")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
