"""本人開示: everything the town holds about one Liker, as one JSON-ready dict.

REFERENCES names every column that points at a Liker and the section of the
package that shows it; tests/test_rights.py compares it with the schema, so a new
table that refers to Likers must be added here (and to crm.rights.services for
erasure) before the tests pass again.
"""

from datetime import date, datetime

from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.consents.models import ConsentRecord
from crm.documents.models import Issuance
from crm.events.models import Attendance, Event, EventDay, Guest
from crm.extensions import db
from crm.registration.models import Registration
from crm.rights.models import Correction
from crm.societies.models import Society, SocietyMembership
from crm.supporters.models import Supporter
from crm.timeutil import to_jst, utcnow

# (table, column) -> (package section, what erasure does with it)
REFERENCES = {
    ("supporter_categories", "supporter_id"): ("categories", "kept: counted"),
    ("supporter_tags", "supporter_id"): ("tags", "deleted"),
    ("attendances", "supporter_id"): ("attendance", "kept: counted"),
    ("guests", "supporter_id"): ("guest_records", "name and contact wiped"),
    ("issuances", "supporter_id"): ("issuances", "kept: counted"),
    ("society_memberships", "supporter_id"): ("societies", "kept: counted"),
    ("consent_records", "supporter_id"): ("consents", "kept: no personal data"),
    ("supporter_corrections", "supporter_id"): ("corrections", "values wiped"),
    ("supporters", "merged_into_id"): ("merged_records", "anonymised too"),
    ("supporters", "introduced_by_id"): ("introduced", "kept: other people's"),
    ("registrations", "supporter_id"): ("registrations", "identity hash replaced"),
}

PROFILE_FIELDS = (
    "registration_number", "status", "family_name", "given_name", "family_name_kana",
    "given_name_kana", "name_romaji", "birth_date", "birth_year", "gender", "email",
    "phone", "postal_code", "prefecture", "municipality", "address", "country",
    "residence", "registered_on", "withdrawn_on", "withdrawal_reason",
    "privacy_policy_version", "privacy_consented_at", "news_opt_in",
    "show_name_publicly", "notes", "use_stopped_at", "erased_at", "created_at",
    "updated_at",
)  # fmt: skip


def _value(value):
    if isinstance(value, datetime):
        return to_jst(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _profile(supporter: Supporter) -> dict:
    profile = {name: _value(getattr(supporter, name)) for name in PROFILE_FIELDS}
    profile["channel"] = supporter.channel.name if supporter.channel else None
    profile["referral_society"] = (
        db.session.scalar(
            select(Society.name).where(Society.id == supporter.referral_society_id)
        )
        if supporter.referral_society_id
        else None
    )
    return profile


def _rows(query) -> list[dict]:
    return [
        {key: _value(value) for key, value in row.items()}
        for row in db.session.execute(query).mappings()
    ]


def merged_record_ids(supporter_id: int) -> list[int]:
    """The records merged into this one, also through earlier merges."""
    found, wanted = [], [supporter_id]
    while wanted:
        wanted = list(
            db.session.scalars(
                select(Supporter.id).where(Supporter.merged_into_id.in_(wanted))
            )
        )
        found += wanted
    return found


def ranges_contain(ranges: str, wanted: int) -> bool:
    """Whether id_ranges() text ("1-3,5") holds the id, without expanding it."""
    for part in filter(None, ranges.split(",")):
        start, _dash, end = part.partition("-")
        if int(start) <= wanted <= int(end or start):
            return True
    return False


def _mentions(details: dict | None, ids: set[int]) -> bool:
    """An export or print whose audit row lists one of these Likers."""
    listed = (details or {}).get("supporter_ids")
    if isinstance(listed, str):
        return any(ranges_contain(listed, i) for i in ids)
    if isinstance(listed, list):
        return bool(ids.intersection(listed))
    return False


def audit_rows_about(ids: list[int]) -> list[AuditEntry]:
    """Audit rows about these Likers: on their record, or exports/prints holding them."""
    wanted = set(ids)
    direct = select(AuditEntry).where(
        AuditEntry.object_type == "supporter", AuditEntry.object_id.in_(ids)
    )
    rows = {row.id: row for row in db.session.scalars(direct)}
    bulk = select(AuditEntry).where(
        AuditEntry.action.in_(("export", "print")), AuditEntry.id.not_in(rows)
    )
    for row in db.session.scalars(bulk.execution_options(yield_per=500)):
        if _mentions(row.details, wanted):
            rows[row.id] = row
    return [rows[key] for key in sorted(rows)]


def disclosure_package(supporter: Supporter) -> dict:
    """The full record of one Liker (and the records merged into it)."""
    merged_ids = merged_record_ids(supporter.id)
    ids = [supporter.id, *merged_ids]
    merged = [db.session.get(Supporter, i) for i in merged_ids]
    introduced = db.session.scalar(
        select(func.count()).where(Supporter.introduced_by_id.in_(ids))
    )
    return {
        "generated_at": _value(utcnow()),
        "registration_number": supporter.registration_number,
        "profile": _profile(supporter),
        "categories": [c.name for c in supporter.categories],
        "tags": [t.name for t in supporter.tags],
        "attendance": _rows(
            select(
                Event.title.label("event"),
                EventDay.day,
                Attendance.role,
                Attendance.checked_in_at,
                Attendance.method,
            )
            .join(EventDay, EventDay.id == Attendance.event_day_id)
            .join(Event, Event.id == EventDay.event_id)
            .where(Attendance.supporter_id.in_(ids))
            .order_by(EventDay.day, Attendance.id)
        ),  # fmt: skip
        "guest_records": _rows(
            select(
                Event.title.label("event"),
                EventDay.day,
                Guest.group,
                Guest.name,
                Guest.name_kana,
                Guest.contact,
                Guest.notes,
            )
            .join(EventDay, EventDay.id == Guest.event_day_id)
            .join(Event, Event.id == EventDay.event_id)
            .where(Guest.supporter_id.in_(ids))
            .order_by(EventDay.day, Guest.id)
        ),  # fmt: skip
        "issuances": _rows(
            select(Issuance.kind, Issuance.issued_at, Issuance.reissue)
            .where(Issuance.supporter_id.in_(ids))
            .order_by(Issuance.issued_at, Issuance.id)
        ),
        "societies": _rows(
            select(
                Society.name.label("society"),
                SocietyMembership.role,
                SocietyMembership.since,
            )
            .join(Society, Society.id == SocietyMembership.society_id)
            .where(SocietyMembership.supporter_id.in_(ids))
            .order_by(Society.name)
        ),  # fmt: skip
        "consents": _rows(
            select(
                ConsentRecord.kind,
                ConsentRecord.granted,
                ConsentRecord.notice_version,
                ConsentRecord.channel,
                ConsentRecord.recorded_at,
                ConsentRecord.recorded_by_id,
            )
            .where(ConsentRecord.supporter_id.in_(ids))
            .order_by(ConsentRecord.id)
        ),  # fmt: skip
        "corrections": _rows(
            select(
                Correction.field,
                Correction.old_value,
                Correction.new_value,
                Correction.corrected_at,
                Correction.corrected_by_id,
                Correction.values_erased,
            )
            .where(Correction.supporter_id.in_(ids))
            .order_by(Correction.id)
        ),  # fmt: skip
        "registrations": _rows(
            select(
                Registration.submitted_at,
                Event.title.label("event"),
                Registration.outcome,
                Registration.reviewed_at,
                Registration.reviewed_by_id,
            )
            .outerjoin(Event, Event.id == Registration.event_id)
            .where(Registration.supporter_id.in_(ids))
            .order_by(Registration.id)
        ),  # fmt: skip
        "merged_records": [_profile(record) for record in merged],
        "introduced": {"count": introduced},
        "audit": [
            {
                "at": _value(row.at),
                "action": row.action,
                "object_type": row.object_type,
                "object_id": row.object_id,
                "user_id": row.user_id,
            }
            for row in audit_rows_about(ids)
        ],  # fmt: skip
    }


def package_filename(supporter: Supporter, extension: str) -> str:
    return f"disclosure-{supporter.registration_number}.{extension}"
