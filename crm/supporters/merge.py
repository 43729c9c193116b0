"""Merging two records of the same person into one. Callers own the commit.

The survivor is the record staff keep; the other ("merged") keeps its row with
status "merged" and its personal fields as they were, points at the survivor
(merged_into_id) and loses everything attached to it. Its QR token and its number
then lead to the survivor (queries.surviving_supporter).
"""

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from crm.admin.services import get_settings
from crm.audit.services import record_event
from crm.consents.models import ConsentRecord
from crm.documents.models import Issuance
from crm.events.models import Attendance, Guest
from crm.extensions import db
from crm.imports.duplicates import Match, find_duplicates
from crm.societies.models import SocietyMembership
from crm.supporters.models import Supporter
from crm.supporters.services import PLAIN_FIELDS, SupporterData, column_values

SIDES = ("survivor", "merged")

# What staff choose, field by field: the columns that go together. An address is
# taken whole, so a postal code never meets another record's street.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "family_name": ("family_name",),
    "given_name": ("given_name",),
    "family_name_kana": ("family_name_kana",),
    "given_name_kana": ("given_name_kana",),
    "name_romaji": ("name_romaji",),
    "birth": ("birth_date", "birth_year"),
    "gender": ("gender",),
    "email": ("email",),
    "phone": ("phone",),
    "address": ("postal_code", "prefecture", "municipality", "address", "country"),
    "channel": ("channel_id",),
    "referral_society": ("referral_society_id",),
    "registered_on": ("registered_on",),
    "news_opt_in": ("news_opt_in",),
    "show_name_publicly": ("show_name_publicly",),
    "privacy_consent": ("privacy_policy_version", "privacy_consented_at"),
    "registration_number": ("registration_number",),
}

# Every column that refers to a Liker, and how a merge treats it. The test
# test_every_reference_to_a_supporter_is_handled compares this with db.metadata,
# so a new table that points at supporters.id has to be decided on here.
HANDLED_REFERENCES = {
    ("attendances", "supporter_id"): "moved; one per event day (the earlier check-in)",
    ("guests", "supporter_id"): "moved",
    ("issuances", "supporter_id"): "moved",
    ("society_memberships", "supporter_id"): "moved; one per society",
    ("supporter_categories", "supporter_id"): "united on the survivor",
    ("supporter_tags", "supporter_id"): "united on the survivor",
    ("supporters", "merged_into_id"): "earlier merges point at the survivor",
    ("consent_records", "supporter_id"): "moved: one person's consent history",
    ("registrations", "supporter_id"): "kept: how the merged record registered",
    ("supporters", "introduced_by_id"): "people it introduced point at the survivor",
    ("supporter_corrections", "supporter_id"): "kept: the merged record's own history",
}


class MergeError(ValueError):
    """Two records that cannot be merged (the same one, or one already merged)."""


def _older(a: Supporter, b: Supporter) -> Supporter:
    return min(a, b, key=lambda s: (s.registered_on, s.id))


def _is_empty(supporter: Supporter, columns: tuple[str, ...]) -> bool:
    return all(getattr(supporter, c) in (None, "") for c in columns)


def default_choices(survivor: Supporter, merged: Supporter) -> dict[str, str]:
    """The survivor's value, or the other's where the survivor has none; the
    earlier registration date and the older number; the later privacy consent."""
    choices = {
        name: (
            "merged"
            if _is_empty(survivor, columns) and not _is_empty(merged, columns)
            else "survivor"
        )
        for name, columns in MERGE_FIELDS.items()
    }
    if merged.registered_on < survivor.registered_on:
        choices["registered_on"] = "merged"
    older = _older(survivor, merged)
    choices["registration_number"] = "merged" if older is merged else "survivor"
    if merged.privacy_consented_at and (
        survivor.privacy_consented_at is None
        or merged.privacy_consented_at > survivor.privacy_consented_at
    ):
        choices["privacy_consent"] = "merged"
    return choices


def joined_notes(first: str | None, second: str | None) -> str | None:
    notes = [n.strip() for n in (first, second) if n and n.strip()]
    return "\n\n".join(dict.fromkeys(notes)) or None


def merge_supporters(
    survivor: Supporter, merged: Supporter, chosen: dict[str, str], user=None
) -> Supporter:
    """Merge `merged` into `survivor`, taking each field from the side chosen
    (fields not named take default_choices); returns the survivor."""
    _lock(survivor, merged)
    if survivor.id == merged.id:
        raise MergeError("a record cannot be merged with itself")
    if "merged" in (survivor.status, merged.status):
        raise MergeError("a record that was merged away cannot be merged again")
    unknown = set(chosen) - set(MERGE_FIELDS)
    if unknown or not set(chosen.values()) <= set(SIDES):
        raise MergeError(f"unknown fields or sides: {sorted(unknown) or chosen}")
    choices = default_choices(survivor, merged) | chosen

    _apply_fields(survivor, merged, choices)
    survivor.categories = list(dict.fromkeys(survivor.categories + merged.categories))
    survivor.tags = list(dict.fromkeys(survivor.tags + merged.tags))
    merged.categories, merged.tags = [], []
    _move_attendance(survivor.id, merged.id)
    _move_memberships(survivor.id, merged.id)
    # Rows that simply point at the merged record now point at the survivor.
    for column in (
        Guest.supporter_id, Issuance.supporter_id, ConsentRecord.supporter_id,
        Supporter.merged_into_id, Supporter.introduced_by_id,
    ):  # fmt: skip
        db.session.execute(
            update(column.class_)
            .where(column == merged.id)
            .values({column.key: survivor.id})
        )
    merged.status = "merged"
    merged.merged_into_id = survivor.id
    survivor.updated_by_id = merged.updated_by_id = user.id if user else None
    record_event(
        "merge",
        "supporter",
        survivor.id,
        {"merged": merged.id, "fields": choices},
        user=user,
    )
    db.session.flush()
    return survivor


def _lock(*supporters: Supporter) -> None:
    """Lock both rows (in id order) and read them afresh, so that two staff
    merging the same records at once cannot both succeed (PostgreSQL)."""
    db.session.flush()
    db.session.scalars(
        select(Supporter)
        .where(Supporter.id.in_([s.id for s in supporters]))
        .order_by(Supporter.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def _apply_fields(
    survivor: Supporter, merged: Supporter, choices: dict[str, str]
) -> None:
    """Chosen values, with residence and search keys derived by the services."""
    sides = {"survivor": survivor, "merged": merged}
    values = {
        column: getattr(sides[choices[name]], column)
        for name, columns in MERGE_FIELDS.items()
        for column in columns
    }
    data = SupporterData(
        **{name: values[name] for name in PLAIN_FIELDS if name != "notes"},
        notes=joined_notes(survivor.notes, merged.notes),
    )
    for name, value in column_values(data, get_settings()).items():
        setattr(survivor, name, value)
    survivor.privacy_policy_version = values["privacy_policy_version"]
    survivor.privacy_consented_at = values["privacy_consented_at"]
    if choices["registration_number"] == "merged":
        # Swap the numbers through a free one: the unique index holds at every step.
        kept, given = merged.registration_number, survivor.registration_number
        merged.registration_number = f"~merging-{merged.id}"
        db.session.flush()
        survivor.registration_number = kept
        db.session.flush()
        merged.registration_number = given


def _move_attendance(survivor_id: int, merged_id: int) -> None:
    """Attendance moves over; where both came on the same day the earlier
    check-in stays and the other row goes (one row per Liker and day)."""
    mine, theirs = aliased(Attendance), aliased(Attendance)
    both = db.session.execute(
        select(mine.id, mine.checked_in_at, theirs.id, theirs.checked_in_at)
        .join(theirs, theirs.event_day_id == mine.event_day_id)
        .where(mine.supporter_id == survivor_id, theirs.supporter_id == merged_id)
    ).all()
    later = [
        their_id if their_at >= my_at else my_id
        for my_id, my_at, their_id, their_at in both
    ]
    if later:
        db.session.execute(delete(Attendance).where(Attendance.id.in_(later)))
    db.session.execute(
        update(Attendance)
        .where(Attendance.supporter_id == merged_id)
        .values(supporter_id=survivor_id)
    )


def _move_memberships(survivor_id: int, merged_id: int) -> None:
    """One membership per society: the survivor's row, with the earlier `since`
    and "officer" if either was one."""
    rows = db.session.scalars(
        select(SocietyMembership).where(
            SocietyMembership.supporter_id.in_([survivor_id, merged_id])
        )
    ).all()
    mine = {m.society_id: m for m in rows if m.supporter_id == survivor_id}
    for theirs in (m for m in rows if m.supporter_id == merged_id):
        kept = mine.get(theirs.society_id)
        if kept is None:
            theirs.supporter_id = survivor_id  # the key changes: an UPDATE
            continue
        kept.since = min(
            (d for d in (kept.since, theirs.since) if d is not None), default=None
        )
        if theirs.role == "officer":
            kept.role = "officer"
        db.session.delete(theirs)


# --- reading, for the merge screen ------------------------------------------


@dataclass
class AttachedCounts:
    attendance: int
    issuances: int
    societies: int
    guests: int


def count_attached(supporter_id: int) -> AttachedCounts:
    """What a merge would move: attendance, issuances, societies, named guests."""

    def count(model):
        return (
            select(func.count())
            .select_from(model)
            .where(model.supporter_id == supporter_id)
            .scalar_subquery()
        )

    row = db.session.execute(
        select(
            count(Attendance),
            count(Issuance),
            count(SocietyMembership),
            count(Guest),
        )
    ).one()
    return AttachedCounts(*row)


def _data_of(supporter: Supporter) -> SupporterData:
    return SupporterData(**{name: getattr(supporter, name) for name in PLAIN_FIELDS})


def likely_duplicates(supporter: Supporter, limit: int = 10) -> list[Match]:
    """Other current records that share an email, phone, reading and birth date,
    or name and postal code with this one, best first."""
    matches = [
        m
        for m in find_duplicates([_data_of(supporter)])[0]
        if m.supporter_id != supporter.id
    ]
    if not matches:
        return []
    merged_away = set(
        db.session.scalars(
            select(Supporter.id).where(
                Supporter.id.in_([m.supporter_id for m in matches]),
                Supporter.status == "merged",
            )
        )
    )
    return [m for m in matches if m.supporter_id not in merged_away][:limit]


def list_merged_from(supporter_id: int) -> list[Supporter]:
    """The records merged into this one, the latest merge first."""
    return list(
        db.session.scalars(
            select(Supporter)
            .where(Supporter.merged_into_id == supporter_id)
            .order_by(Supporter.updated_at.desc(), Supporter.id.desc())
        )
    )
