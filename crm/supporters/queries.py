"""Reading Likers: the list with search, filters and sort; one Liker with 404."""

from dataclasses import dataclass, field
from datetime import date

from flask import abort
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    func,
    literal_column,
    select,
    union,
)
from sqlalchemy.orm import selectinload

from crm.admin.services import get_settings
from crm.events.models import Attendance, EventDay
from crm.extensions import db
from crm.japanese import email_key, is_kana, phone_key, query_key
from crm.societies.models import SocietyMembership
from crm.supporters.models import (
    STATUSES,
    Category,
    Channel,
    Supporter,
    supporter_categories,
)
from crm.supporters.tokens import looks_like_token

# The largest code point: every string starting with a prefix sorts below prefix+this.
_TOP = "\U0010ffff"

# Sort orders as (column name, descending) pairs.
SORTS = {
    "kana": (("kana_key", False), ("id", False)),
    "number": (("registration_number", False),),
    "newest": (("registered_on", True), ("id", True)),
    "oldest": (("registered_on", False), ("id", False)),
}


def _order_by(table, sort: str) -> list:
    """ORDER BY terms for a sort name, on the Supporter entity or a subquery."""
    columns = table.c if hasattr(table, "c") else Supporter.__table__.c
    return [
        columns[name].desc() if descending else columns[name]
        for name, descending in SORTS.get(sort, SORTS["kana"])
    ]


@dataclass
class SupporterFilter:
    """What the Likers list is narrowed to; empty values mean no restriction."""

    q: str = ""
    category_ids: list[int] = field(default_factory=list)
    residences: list[str] = field(default_factory=list)
    status: str = "active"  # active, withdrawn or all (never the merged-away)
    registered_from: date | None = None
    registered_to: date | None = None
    event_id: int | None = None  # attended this event (any of its days)
    attended_from: date | None = None  # attended any event between …
    attended_to: date | None = None
    society_id: int | None = None  # member of this hometown society
    card: str = ""  # "issued", "not_issued" or "" (either)
    certificate: str = ""  # the same for the certificate
    sort: str = "kana"


def _starts_with(column, prefix: str) -> ColumnElement[bool]:
    """A prefix match written as a range, so a plain B-tree index serves it."""
    return and_(column >= prefix, column < prefix + _TOP)


def search_branches(text: str) -> list[ColumnElement[bool]]:
    """One search box: kana, name, registration number, email or phone.

    One prefix condition per search key that the text can match (a Liker matches
    when any holds): kana only against readings, kanji against names, digits against
    phone and number. A single kana is an initial (五十音), so it matches family
    names only; given names starting with it would double a huge result set.
    """
    text = text.strip()
    if not text:
        return []
    conditions = []
    key = query_key(text)
    if key and is_kana(key):
        conditions.append(_starts_with(Supporter.kana_key, key))
        if len(key) > 1:
            conditions.append(_starts_with(Supporter.given_kana_key, key))
    elif key:
        conditions += [
            _starts_with(Supporter.name_key, key),
            _starts_with(Supporter.given_name_key, key),
        ]
    email = email_key(text)
    if email.isascii() and any(c.isalpha() or c in "@." for c in email):
        conditions.append(_starts_with(Supporter.email_key, email))
    digits = phone_key(text)
    if len(digits) >= 3:
        conditions.append(_starts_with(Supporter.phone_key, digits))
    if digits:
        number = "".join(text.split()).upper()
        conditions.append(_starts_with(Supporter.registration_number, number))
        if digits == number:  # "12" finds YL-00012
            settings = get_settings()
            conditions.append(
                Supporter.registration_number == settings.format_number(int(digits))
            )
    return conditions


def _restrictions(
    filters: SupporterFilter, per_row: bool = False
) -> list[ColumnElement[bool]]:
    """Every condition but the search box.

    "all" statuses is written as an IN so that the status column of the search
    indexes still serves it. per_row: the category test as a correlated EXISTS,
    checked on each search match; as an IN, SQLite starts from the category's
    whole membership list instead, once per search branch.
    """
    if filters.status in STATUSES:
        conditions = [Supporter.status == filters.status]
    else:
        conditions = [Supporter.status.in_(STATUSES)]
    if filters.residences:
        conditions.append(Supporter.residence.in_(filters.residences))
    if filters.category_ids:
        in_category = supporter_categories.c.category_id.in_(filters.category_ids)
        if per_row:
            conditions.append(
                select(supporter_categories.c.supporter_id)
                .where(supporter_categories.c.supporter_id == Supporter.id, in_category)
                .exists()
            )
        else:
            conditions.append(
                Supporter.id.in_(
                    select(supporter_categories.c.supporter_id).where(in_category)
                )
            )
    if filters.registered_from:
        conditions.append(Supporter.registered_on >= filters.registered_from)
    if filters.registered_to:
        conditions.append(Supporter.registered_on <= filters.registered_to)
    conditions += _activity_restrictions(filters)
    return conditions


def _activity_restrictions(filters: SupporterFilter) -> list[ColumnElement[bool]]:
    """Attendance and society membership, as IN lists of Liker ids."""
    conditions = []
    if filters.event_id or filters.attended_from or filters.attended_to:
        attended = select(Attendance.supporter_id).join(
            EventDay, EventDay.id == Attendance.event_day_id
        )
        if filters.event_id:
            attended = attended.where(EventDay.event_id == filters.event_id)
        if filters.attended_from:
            attended = attended.where(EventDay.day >= filters.attended_from)
        if filters.attended_to:
            attended = attended.where(EventDay.day <= filters.attended_to)
        conditions.append(Supporter.id.in_(attended))
    # Each Liker's first card and certificate are kept on the Liker by the database
    # (migration 0009's triggers): a column test, not a search of the issuances
    # (1.2 s at a million Likers with NOT EXISTS; NOT IN never returned).
    first_issues = ((filters.card, Supporter.card_issued_at),
                    (filters.certificate, Supporter.certificate_issued_at))  # fmt: skip
    for wanted, issued_at in first_issues:
        if wanted == "issued":
            conditions.append(issued_at.is_not(None))
        elif wanted:
            conditions.append(issued_at.is_(None))
    if filters.society_id:
        conditions.append(
            Supporter.id.in_(
                select(SocietyMembership.supporter_id).where(
                    SocietyMembership.society_id == filters.society_id
                )
            )
        )
    return conditions


def matching_keys(filters: SupporterFilter) -> Subquery:
    """The id and sort columns of every matching Liker, as a subquery.

    A search is a UNION of one SELECT per search key rather than an OR: each is
    answered from an index on (key, status, kana_key, id) without reading the
    table. With an OR, PostgreSQL must visit a table row per match (and may walk
    the sort index instead, reading most of the table to find 50 matches).
    """
    sort = SORTS.get(filters.sort, SORTS["kana"])
    columns = [Supporter.id] + [
        getattr(Supporter, name) for name, _ in sort if name != "id"
    ]
    branches = search_branches(filters.q)
    if not branches:
        return select(*columns).where(*_restrictions(filters)).subquery("hits")
    restrictions = _restrictions(filters, per_row=True)
    selects = [select(*columns).where(branch, *restrictions) for branch in branches]
    if len(selects) == 1:  # no UNION to deduplicate: the index range comes sorted
        return selects[0].subquery("hits")
    return union(*selects).subquery("hits")


class SupporterPagination(Pagination):
    """A page of Likers: the page's ids come from the indexes first (sorted,
    LIMIT/OFFSET), then only those rows are read. The total counts the ids.

    LIMIT is written into the SQL: SQLite's planner cannot see a bound LIMIT.
    """

    def _query_items(self) -> list[Supporter]:
        hits: Subquery = self._query_args["hits"]
        sort: str = self._query_args["sort"]
        page = (
            select(hits)
            .order_by(*_order_by(hits, sort))
            .limit(literal_column(str(int(self.per_page))))
            .offset(self._query_offset)
            .subquery("page")
        )
        query = (
            select(Supporter)
            .join(page, Supporter.id == page.c.id)
            .order_by(*_order_by(page, sort))
            .options(selectinload(Supporter.categories))
        )
        return list(db.session.scalars(query))

    def _query_count(self) -> int:
        hits = self._query_args["hits"]
        return db.session.scalar(select(func.count()).select_from(hits))


def select_supporters(filters: SupporterFilter, limit: int) -> list[Supporter]:
    """Every matching Liker in the list's order, up to limit (for printing)."""
    hits = matching_keys(filters)
    query = (
        select(Supporter)
        .join(hits, Supporter.id == hits.c.id)
        .order_by(*_order_by(hits, filters.sort))
        .limit(limit)
    )
    return list(db.session.scalars(query))


def list_supporters(filters: SupporterFilter, page: int, per_page: int):
    """One page of Likers (a Flask-SQLAlchemy Pagination) with categories loaded."""
    return SupporterPagination(
        page=page,
        per_page=per_page,
        error_out=False,
        hits=matching_keys(filters),
        sort=filters.sort,
    )


def get_supporter_or_404(supporter_id: int) -> Supporter:
    supporter = db.session.get(
        Supporter,
        supporter_id,
        options=[selectinload(Supporter.categories), selectinload(Supporter.tags)],
    )
    if supporter is None:
        abort(404)
    return supporter


def find_by_public_token(token: str) -> Supporter | None:
    """The Liker whose current QR token this is (a reissued token finds nobody)."""
    if not looks_like_token(token):
        return None
    return db.session.scalar(select(Supporter).where(Supporter.public_token == token))


def surviving_supporter(supporter: Supporter | None) -> Supporter | None:
    """The record a merged-away Liker now lives on (following merges of merges);
    any other record is its own survivor. None when the use of that record was
    stopped or its data erased: a QR code or number then leads nowhere."""
    seen = set()
    while supporter is not None and supporter.status == "merged":
        if supporter.id in seen or supporter.merged_into_id is None:
            return None
        seen.add(supporter.id)
        supporter = db.session.get(Supporter, supporter.merged_into_id)
    if supporter is not None and supporter.use_stopped:
        return None
    return supporter


def list_reference_items(model, active_only: bool = False) -> list:
    """An admin-edited list (categories, channels, themes) in its set order."""
    query = select(model).order_by(model.position, model.id)
    if active_only:
        query = query.where(model.active.is_(True))
    return list(db.session.scalars(query))


def list_categories(active_only: bool = False) -> list[Category]:
    return list_reference_items(Category, active_only)


def list_channels(active_only: bool = False) -> list[Channel]:
    return list_reference_items(Channel, active_only)
