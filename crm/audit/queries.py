"""Reading the audit log: the admin screen's filter, the chain check, and what a
past export or print held (for a leak report)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from crm.audit.chain import HASHED, ChainCheck, verify_rows
from crm.audit.models import AuditEntry
from crm.exports.audit import ids_from_ranges
from crm.extensions import db
from crm.supporters.models import Supporter
from crm.timeutil import JST


@dataclass
class AuditFilter:
    user_id: int | None = None
    action: str = ""
    object_type: str = ""
    object_id: int | None = None
    date_from: date | None = None  # Japan time, inclusive
    date_to: date | None = None


def _utc(day: date) -> datetime:
    """Midnight of a day in Japan, as stored (UTC without tzinfo)."""
    return datetime.combine(day, time(), JST).astimezone(UTC).replace(tzinfo=None)


def filtered(filters: AuditFilter):
    query = select(AuditEntry)
    if filters.user_id is not None:
        query = query.where(AuditEntry.user_id == filters.user_id)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditEntry.object_id == filters.object_id)
    if filters.date_from:
        query = query.where(AuditEntry.at >= _utc(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEntry.at < _utc(filters.date_to + timedelta(days=1)))
    return query.order_by(AuditEntry.id.desc())


def list_entries(filters: AuditFilter, page: int, per_page: int = 100):
    return db.paginate(filtered(filters), page=page, per_page=per_page, error_out=False)


def distinct_values(column) -> list[str]:
    return list(db.session.scalars(select(column).distinct().order_by(column)))


def verify_chain(batch: int = 1000) -> ChainCheck:
    """Recompute every row's hash in id order (flask --app crm audit verify)."""
    table = AuditEntry.__table__
    columns = [table.c.id, table.c.prev_hash, table.c.hash]
    columns += [table.c[name] for name in HASHED]
    rows = db.session.execute(
        select(*columns).order_by(table.c.id).execution_options(yield_per=batch)
    ).mappings()
    return verify_rows(rows)


@dataclass(frozen=True)
class ExportedLiker:
    id: int
    registration_number: str | None  # None: no such record (never expected)
    status: str | None


def listed_ids(entry: AuditEntry) -> list[int]:
    """The Liker ids an export or print entry says its file held."""
    listed = (entry.details or {}).get("supporter_ids")
    if isinstance(listed, str):
        return ids_from_ranges(listed)
    if isinstance(listed, list):
        return sorted({int(i) for i in listed})
    return []


def exported_likers(entry: AuditEntry) -> list[ExportedLiker]:
    """Who was in the file of a past export or print, with their numbers today."""
    ids = listed_ids(entry)
    found: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = db.session.execute(
            select(Supporter.id, Supporter.registration_number, Supporter.status).where(
                Supporter.id.in_(chunk)
            )
        )
        found.update({row.id: (row.registration_number, row.status) for row in rows})
    return [ExportedLiker(i, *found.get(i, (None, None))) for i in ids]
