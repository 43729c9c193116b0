"""Changing Likers: register, update, withdraw. Callers own the commit."""

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import exists, select, update

from crm.admin.models import TownSettings
from crm.admin.services import get_settings
from crm.audit.services import record_event
from crm.consents.services import record_flag_changes, record_registration_consents
from crm.documents.qr_store import remember_token_qrs
from crm.extensions import db
from crm.japanese import email_key, kana_key, name_key, phone_key
from crm.rights.corrections import record_corrections
from crm.supporters.models import Category, Counter, Supporter, Tag
from crm.supporters.tokens import new_public_token
from crm.timeutil import today_jst, utcnow

SUPPORTER_COUNTER = "supporter_number"
JAPAN_NAMES = {"", "日本", "にほん", "にっぽん", "japan", "jp", "jpn"}

# Fields copied from SupporterData onto the model as they are.
PLAIN_FIELDS = (
    "family_name", "given_name", "family_name_kana", "given_name_kana", "name_romaji",
    "birth_date", "birth_year", "gender", "email", "phone", "postal_code", "prefecture",
    "municipality", "address", "country", "channel_id", "registered_on", "news_opt_in",
    "notes", "referral_society_id", "show_name_publicly",
)  # fmt: skip


@dataclass
class SupporterData:
    """What a form, an import row or the demo generator supplies for one Liker."""

    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    name_romaji: str | None = None
    birth_date: date | None = None
    birth_year: int | None = None
    gender: str | None = None
    email: str | None = None
    phone: str | None = None
    postal_code: str | None = None
    prefecture: str | None = None
    municipality: str | None = None
    address: str | None = None
    country: str | None = None
    channel_id: int | None = None
    registered_on: date | None = None
    news_opt_in: bool = False
    notes: str | None = None
    referral_society_id: int | None = None
    show_name_publicly: bool = False
    category_ids: list[int] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)


def _compact(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def derive_residence(
    prefecture: str | None,
    municipality: str | None,
    country: str | None,
    settings: TownSettings,
) -> str:
    """Where a Liker lives relative to the town: in_town, in_prefecture, … or unknown."""
    if _compact(country).lower() not in JAPAN_NAMES:
        return "overseas"
    if not prefecture:
        return "unknown"
    if _compact(prefecture) != _compact(settings.prefecture):
        return "outside_prefecture"
    # A ward (札幌市中央区) or a district prefix (夕張郡栗山町) must not confuse the match.
    town = _compact(settings.municipality_name)
    place = _compact(municipality)
    if place and (place.startswith(town) or place.endswith(town)):
        return "in_town"
    return "in_prefecture"


def take_next_number(settings: TownSettings) -> str:
    """The next free registration number, under a row lock on the counter.

    UPDATE … RETURNING holds the counter row until the transaction commits, so two
    staff saving at the same moment get consecutive numbers and a rollback leaves no
    gap. Numbers already taken (imported with their own number) are skipped.
    """
    while True:
        value = db.session.execute(
            update(Counter)
            .where(Counter.name == SUPPORTER_COUNTER)
            .values(value=Counter.value + 1)
            .returning(Counter.value),
            execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
        if value is None:
            db.session.add(Counter(name=SUPPORTER_COUNTER, value=0))
            db.session.flush()
            continue
        number = settings.format_number(value)
        taken = db.session.scalar(
            select(exists().where(Supporter.registration_number == number))
        )
        if not taken:
            return number


def derived_values(data: SupporterData, settings: TownSettings) -> dict:
    """Columns computed from what was typed: residence and the search keys."""
    return {
        "residence": derive_residence(
            data.prefecture, data.municipality, data.country, settings
        ),
        "name_key": name_key(data.family_name, data.given_name),
        "given_name_key": name_key(data.given_name),
        "kana_key": kana_key(data.family_name_kana, data.given_name_kana),
        "given_kana_key": kana_key(data.given_name_kana),
        "email_key": email_key(data.email) or None,
        "phone_key": phone_key(data.phone) or None,
        "birth_year": data.birth_date.year if data.birth_date else data.birth_year,
    }


def column_values(data: SupporterData, settings: TownSettings) -> dict:
    """Every supporters column for a new row (bulk inserts use this directly)."""
    values = {name: getattr(data, name) for name in PLAIN_FIELDS}
    values.update(derived_values(data, settings))
    values["registered_on"] = data.registered_on or today_jst()
    return values


def _apply(supporter: Supporter, data: SupporterData, settings: TownSettings) -> None:
    registered_on = supporter.registered_on
    for name, value in column_values(data, settings).items():
        setattr(supporter, name, value)
    supporter.registered_on = data.registered_on or registered_on or today_jst()
    supporter.categories = (
        list(
            db.session.scalars(
                select(Category).where(Category.id.in_(data.category_ids))
            )
        )
        if data.category_ids
        else []
    )
    supporter.tags = [
        _get_or_create_tag(name) for name in dict.fromkeys(data.tag_names)
    ]


def _get_or_create_tag(name: str) -> Tag:
    tag = db.session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        tag = Tag(name=name)
        db.session.add(tag)
    return tag


def register_supporter(
    data: SupporterData, user=None, channel: str = "staff", status: str = "active"
) -> Supporter:
    """Create a Liker with the next registration number and record the consents.

    channel: where the consents were given (crm.consents.models.CHANNELS): the
    staff form ("staff"), the desk, the public form ("web"), a paper form.
    """
    settings = get_settings()
    supporter = Supporter(status=status)
    _apply(supporter, data, settings)
    supporter.registration_number = take_next_number(settings)
    supporter.public_token = new_public_token()
    supporter.privacy_policy_version = settings.privacy_policy_version
    supporter.privacy_consented_at = utcnow()
    supporter.created_by_id = supporter.updated_by_id = user.id if user else None
    db.session.add(supporter)
    db.session.flush()
    record_event("create", "supporter", supporter.id, {"channel": channel}, user=user)
    record_registration_consents(
        supporter, channel, settings.privacy_policy_version, user
    )
    remember_token_qrs([supporter.public_token])  # never raises
    return supporter


def update_supporter(
    supporter: Supporter, data: SupporterData, user=None, channel: str = "staff"
) -> list[str]:
    """Apply an edit; returns the names of the fields that changed (for the audit log).

    An opt-in switched on or off is recorded as a consent row (channel: where)."""
    before = {name: getattr(supporter, name) for name in PLAIN_FIELDS}
    before_categories = {c.id for c in supporter.categories}
    before_tags = {t.name for t in supporter.tags}
    settings = get_settings()
    _apply(supporter, data, settings)
    record_flag_changes(
        supporter, before, channel, settings.privacy_policy_version, user
    )
    changed = [
        name for name in PLAIN_FIELDS if getattr(supporter, name) != before[name]
    ]
    if {c.id for c in supporter.categories} != before_categories:
        changed.append("categories")
    if {t.name for t in supporter.tags} != before_tags:
        changed.append("tags")
    if changed:
        supporter.updated_by_id = user.id if user else None
        record_event(
            "update", "supporter", supporter.id, {"fields": changed}, user=user
        )
        record_corrections(
            supporter,
            before | {"categories": before_categories, "tags": before_tags},
            changed,
            user,
        )
    return changed


def withdraw_supporter(
    supporter: Supporter, withdrawn_on: date, reason: str | None, user=None
) -> None:
    """Mark a Liker as withdrawn; the record stays for the counts (no hard delete)."""
    if not supporter.use_stopped:  # stays out of every list until use resumes
        supporter.status = "withdrawn"
    supporter.withdrawn_on = withdrawn_on
    supporter.withdrawal_reason = reason
    supporter.updated_by_id = user.id if user else None
    record_event("withdraw", "supporter", supporter.id, user=user)


def reinstate_supporter(supporter: Supporter, user=None) -> None:
    """Undo a withdrawal made by mistake."""
    if not supporter.use_stopped:
        supporter.status = "active"
    supporter.withdrawn_on = None
    supporter.withdrawal_reason = None
    supporter.updated_by_id = user.id if user else None
    record_event("reinstate", "supporter", supporter.id, user=user)


def reissue_public_token(supporter: Supporter, user=None) -> None:
    """A new QR token: the old card's code stops working at once (lost card, …)."""
    supporter.public_token = new_public_token()
    record_event("reissue_token", "supporter", supporter.id, user=user)
    remember_token_qrs([supporter.public_token])  # never raises


def recompute_residences() -> int:
    """Derive every Liker's residence again after the town's place changed."""
    settings = get_settings()
    changed = 0
    places = db.session.execute(
        select(
            Supporter.prefecture, Supporter.municipality, Supporter.country
        ).distinct()
    ).all()
    kept = Supporter.status != "erased"  # its residence stays as counted
    for prefecture, municipality, country in places:
        result = db.session.execute(
            update(Supporter)
            .where(
                Supporter.prefecture.is_not_distinct_from(prefecture),
                Supporter.municipality.is_not_distinct_from(municipality),
                Supporter.country.is_not_distinct_from(country),
                kept,
            )
            .values(
                residence=derive_residence(prefecture, municipality, country, settings)
            ),
            execution_options={"synchronize_session": False},
        )
        changed += result.rowcount
    return changed
