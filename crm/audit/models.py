from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, event, select, text
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from crm.audit.chain import GENESIS, HASHED, entry_hash
from crm.extensions import db
from crm.timeutil import utcnow

# Any constant: the transaction-level advisory lock that serialises appends on
# PostgreSQL, so two transactions never chain onto the same previous row.
CHAIN_LOCK_KEY = 7_2018_0001


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when anything in the app tries to change or delete an audit row."""


class AuditEntry(db.Model):
    """Who did what to which record, and when. Holds IDs, never personal data.

    Rows are only ever added (crm.audit.chain guards the app, database triggers
    everything else); each carries the SHA-256 of its content and of the row
    before it, so a changed or removed row breaks the chain (flask audit verify).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)
    # Each row is inserted before the next one is hashed: the chain needs the
    # previous row's hash, also within one flush.
    __mapper_args__ = {"batch": False}

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    details: Mapped[dict | None] = mapped_column(JSON)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


@event.listens_for(AuditEntry, "before_insert")
def _chain(_mapper, connection, entry: AuditEntry) -> None:
    """Hash the row onto the newest one, under the chain's lock."""
    if entry.at is None:
        entry.at = utcnow()
    if connection.dialect.name == "postgresql":
        # Held until the transaction ends: the next writer waits and then sees
        # this row as the newest (READ COMMITTED, the session's level).
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY}
        )
    table = AuditEntry.__table__
    previous = connection.execute(
        select(table.c.hash).order_by(table.c.id.desc()).limit(1)
    ).scalar()
    entry.prev_hash = previous or GENESIS
    entry.hash = entry_hash(
        entry.prev_hash, {name: getattr(entry, name) for name in HASHED}
    )


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(_mapper, _connection, entry: AuditEntry) -> None:
    raise AuditLogIsAppendOnly(f"audit entry {entry.id} cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None)  # an annotated copy for ORM
    if (state.is_update or state.is_delete) and getattr(
        table, "name", None
    ) == AuditEntry.__tablename__:
        raise AuditLogIsAppendOnly("audit entries cannot be updated or deleted")
