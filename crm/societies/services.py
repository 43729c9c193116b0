"""Hometown societies and their members. Callers commit."""

from dataclasses import dataclass
from datetime import date

from crm.audit.services import record_event
from crm.database import upsert_insert
from crm.extensions import db
from crm.societies.models import Society, SocietyMembership


@dataclass
class SocietyData:
    name: str
    region: str | None = None
    contact_person: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None


def save_society(society: Society | None, data: SocietyData, user=None) -> Society:
    creating = society is None
    if creating:
        society = Society()
        db.session.add(society)
    for name, value in data.__dict__.items():
        setattr(society, name, value)
    db.session.flush()
    record_event("create" if creating else "update", "society", society.id, user=user)
    return society


def add_member(
    society: Society,
    supporter_id: int,
    role: str = "member",
    since: date | None = None,
    user=None,
) -> bool:
    """Link a Liker to a society; if already linked, update role and date.

    Returns True when the Liker was not a member before.
    """
    existing = db.session.get(SocietyMembership, (society.id, supporter_id))
    if existing is None:
        db.session.execute(
            upsert_insert(SocietyMembership)
            .values(society_id=society.id, supporter_id=supporter_id, role=role, since=since)
            .on_conflict_do_nothing(index_elements=["society_id", "supporter_id"])
        )  # fmt: skip
    else:
        existing.role = role
        existing.since = since
    record_event(
        "add_member" if existing is None else "update_member", "supporter",
        supporter_id, {"society_id": society.id, "role": role}, user=user,
    )  # fmt: skip
    return existing is None


def remove_member(society: Society, supporter_id: int, user=None) -> None:
    membership = db.session.get(SocietyMembership, (society.id, supporter_id))
    if membership is not None:
        db.session.delete(membership)
        record_event(
            "remove_member", "supporter", supporter_id,
            {"society_id": society.id}, user=user,
        )  # fmt: skip
