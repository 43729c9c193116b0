"""Corrections (訂正): each changed field's old and new value, who and when."""

from datetime import date, datetime

from sqlalchemy import select

from crm.extensions import db
from crm.rights.models import Correction
from crm.supporters.models import Category, Channel, Supporter
from crm.timeutil import utcnow


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, list, tuple)):
        return "、".join(sorted(str(v) for v in value)) or None
    return str(value)


def _named(field: str, value):
    """Ids as the names staff know (categories, channel); everything else as is."""
    if field == "categories":
        names = db.session.scalars(select(Category.name).where(Category.id.in_(value)))
        return set(names)
    if field == "channel_id" and value:
        return db.session.scalar(select(Channel.name).where(Channel.id == value))
    return value


def current_value(supporter: Supporter, field: str):
    if field == "categories":
        return {c.id for c in supporter.categories}
    if field == "tags":
        return {t.name for t in supporter.tags}
    return getattr(supporter, field)


def record_corrections(
    supporter: Supporter, before: dict, changed: list[str], user=None
) -> list[Correction]:
    """A correction row per changed field, from the values before the edit."""
    now = utcnow()
    rows = [
        Correction(
            supporter_id=supporter.id,
            field=field,
            old_value=_text(_named(field, before.get(field))),
            new_value=_text(_named(field, current_value(supporter, field))),
            corrected_at=now,
            corrected_by_id=user.id if user is not None else None,
        )
        for field in changed
    ]
    db.session.add_all(rows)
    return rows


def list_corrections(supporter_id: int) -> list[Correction]:
    return list(
        db.session.scalars(
            select(Correction)
            .where(Correction.supporter_id == supporter_id)
            .order_by(Correction.id.desc())
        )
    )
