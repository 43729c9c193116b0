"""Reading the issuance ledger."""

from sqlalchemy import select

from crm.auth.models import User
from crm.documents.models import Issuance
from crm.extensions import db


def issuances_of(supporter_id: int, limit: int = 50) -> list:
    """This Liker's prints, newest first: kind, when, reissue, who printed."""
    return db.session.execute(
        select(Issuance.kind, Issuance.issued_at, Issuance.reissue, User.name)
        .outerjoin(User, User.id == Issuance.issued_by_id)
        .where(Issuance.supporter_id == supporter_id)
        .order_by(Issuance.issued_at.desc(), Issuance.id.desc())
        .limit(limit)
    ).all()
