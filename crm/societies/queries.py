"""Reading hometown societies: the list with member counts, one society's members."""

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from crm.events.models import Attendance
from crm.extensions import db
from crm.societies.models import Society, SocietyMembership
from crm.supporters.models import STOPPED_STATUSES, Supporter


def list_societies_with_counts() -> list[tuple[Society, int, int]]:
    """Every society with its number of members and their participations (延べ)."""
    members = (
        select(func.count())
        .select_from(SocietyMembership)
        .where(SocietyMembership.society_id == Society.id)
        .scalar_subquery()
    )
    participations = (
        select(func.count(Attendance.id))
        .join(
            SocietyMembership,
            SocietyMembership.supporter_id == Attendance.supporter_id,
        )
        .where(SocietyMembership.society_id == Society.id)
        .scalar_subquery()
    )
    return list(
        db.session.execute(
            select(Society, members, participations).order_by(Society.name)
        )
    )


def list_societies() -> list[Society]:
    return list(db.session.scalars(select(Society).order_by(Society.name)))


def get_society_or_404(society_id: int) -> Society:
    return db.session.get(Society, society_id) or abort(404)


def list_members(society_id: int) -> list[SocietyMembership]:
    return list(
        db.session.scalars(
            select(SocietyMembership)
            .join(Supporter)
            .where(
                SocietyMembership.society_id == society_id,
                Supporter.status.not_in(STOPPED_STATUSES),  # no longer listed
            )
            .options(joinedload(SocietyMembership.supporter))
            .order_by(
                SocietyMembership.role.desc(),  # officers first
                Supporter.kana_key,
                Supporter.id,
            )
        )
    )


def list_memberships_of(supporter_id: int) -> list[SocietyMembership]:
    return list(
        db.session.scalars(
            select(SocietyMembership)
            .join(Society)
            .where(SocietyMembership.supporter_id == supporter_id)
            .options(contains_eager(SocietyMembership.society))
            .order_by(Society.name)
        )
    )
