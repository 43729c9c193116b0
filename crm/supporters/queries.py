"""Reading Likers: the list with search, filters and sort; one Liker with 404."""

from dataclasses import dataclass, field
from datetime import date

from flask import abort
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import selectinload

from crm.admin.services import get_settings
from crm.extensions import db
from crm.japanese import email_key, phone_key, query_key
from crm.supporters.models import Category, Channel, Supporter, supporter_categories

# The largest code point: every string starting with a prefix sorts below prefix+this.
_TOP = "\U0010ffff"

SORTS = {
    "kana": (Supporter.kana_key, Supporter.id),
    "number": (Supporter.registration_number,),
    "newest": (Supporter.registered_on.desc(), Supporter.id.desc()),
    "oldest": (Supporter.registered_on, Supporter.id),
}


@dataclass
class SupporterFilter:
    """What the Likers list is narrowed to; empty values mean no restriction."""

    q: str = ""
    category_ids: list[int] = field(default_factory=list)
    residences: list[str] = field(default_factory=list)
    status: str = "active"  # active, withdrawn or all
    registered_from: date | None = None
    registered_to: date | None = None
    sort: str = "kana"


def _starts_with(column, prefix: str) -> ColumnElement[bool]:
    """A prefix match written as a range, so a plain B-tree index serves it."""
    return and_(column >= prefix, column < prefix + _TOP)


def search_condition(text: str) -> ColumnElement[bool] | None:
    """One search box: name, kana, registration number, email or phone."""
    text = text.strip()
    if not text:
        return None
    conditions = []
    key = query_key(text)
    if key:
        conditions += [
            _starts_with(Supporter.kana_key, key),
            _starts_with(Supporter.given_kana_key, key),
            _starts_with(Supporter.name_key, key),
            _starts_with(Supporter.given_name_key, key),
        ]
    email = email_key(text)
    if "@" in email or "." in email:
        conditions.append(_starts_with(Supporter.email_key, email))
    digits = phone_key(text)
    if len(digits) >= 3:
        conditions.append(_starts_with(Supporter.phone_key, digits))
    number = "".join(text.split()).upper()
    conditions.append(_starts_with(Supporter.registration_number, number))
    if digits and digits == number:  # "12" finds YL-00012
        settings = get_settings()
        conditions.append(
            Supporter.registration_number == settings.format_number(int(digits))
        )
    return or_(*conditions)


def filtered_select(filters: SupporterFilter) -> Select:
    query = select(Supporter)
    condition = search_condition(filters.q)
    if condition is not None:
        query = query.where(condition)
    if filters.status in ("active", "withdrawn"):
        query = query.where(Supporter.status == filters.status)
    if filters.residences:
        query = query.where(Supporter.residence.in_(filters.residences))
    if filters.category_ids:
        query = query.where(
            Supporter.id.in_(
                select(supporter_categories.c.supporter_id).where(
                    supporter_categories.c.category_id.in_(filters.category_ids)
                )
            )
        )
    if filters.registered_from:
        query = query.where(Supporter.registered_on >= filters.registered_from)
    if filters.registered_to:
        query = query.where(Supporter.registered_on <= filters.registered_to)
    return query.order_by(*SORTS.get(filters.sort, SORTS["kana"]))


def list_supporters(filters: SupporterFilter, page: int, per_page: int):
    """One page of Likers (a Flask-SQLAlchemy Pagination) with categories loaded."""
    query = filtered_select(filters).options(selectinload(Supporter.categories))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def get_supporter_or_404(supporter_id: int) -> Supporter:
    supporter = db.session.get(
        Supporter,
        supporter_id,
        options=[selectinload(Supporter.categories), selectinload(Supporter.tags)],
    )
    if supporter is None:
        abort(404)
    return supporter


def list_categories(active_only: bool = False) -> list[Category]:
    query = select(Category).order_by(Category.position, Category.id)
    if active_only:
        query = query.where(Category.active.is_(True))
    return list(db.session.scalars(query))


def list_channels(active_only: bool = False) -> list[Channel]:
    query = select(Channel).order_by(Channel.position, Channel.id)
    if active_only:
        query = query.where(Channel.active.is_(True))
    return list(db.session.scalars(query))
