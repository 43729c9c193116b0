"""Partner organisations (連携法人). Callers commit."""

from dataclasses import dataclass

from crm.audit.services import record_event
from crm.extensions import db
from crm.partners.models import Partner


@dataclass
class PartnerData:
    name: str
    kind: str = "npo"
    contact_person: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None


def save_partner(partner: Partner | None, data: PartnerData, user=None) -> Partner:
    creating = partner is None
    if creating:
        partner = Partner()
        db.session.add(partner)
    for name, value in data.__dict__.items():
        setattr(partner, name, value)
    db.session.flush()
    record_event("create" if creating else "update", "partner", partner.id, user=user)
    return partner
