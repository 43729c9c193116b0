"""The Likers list as a spreadsheet: the columns staff choose, read as a stream.

Rows are plain tuples from one SELECT (no ORM objects): categories, first card and
first certificate come from correlated subqueries, channel and category names from
small dictionaries read once. Cells are Python values: dates stay dates (the CSV
writes YYYY-MM-DD, the workbook real dates), flags become はい/いいえ.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter

from sqlalchemy import Connection, Select, String, cast, func, select

from crm.documents.models import Issuance
from crm.exports.audit import id_ranges
from crm.extensions import db
from crm.supporters.models import Supporter, supporter_categories
from crm.supporters.queries import (
    SupporterFilter,
    _order_by,
    list_categories,
    list_channels,
    matching_keys,
)
from crm.templating import japanese_town_terms
from crm.timeutil import to_jst

NAME_SEPARATOR = "\u3000"  # 全角スペース between family and given name, as on paper
ROWS_PER_FETCH = 2000


@dataclass(frozen=True)
class Column:
    """A column staff can choose; header as written in the file (always Japanese)."""

    key: str
    header: str
    sources: tuple[str, ...]  # names in _sources() it reads
    kind: str = "text"  # text (checked for CP932), date or number
    default: bool = False
    width: float = 14  # in the workbook, in characters


COLUMNS: tuple[Column, ...] = (
    Column("number", "登録番号", ("registration_number",), default=True, width=11),
    Column("name", "氏名", ("family_name", "given_name"), default=True, width=16),
    Column("family_name", "姓", ("family_name",), width=10),
    Column("given_name", "名", ("given_name",), width=10),
    Column("kana", "ふりがな", ("family_name_kana", "given_name_kana"), default=True, width=18),
    Column("family_kana", "セイ", ("family_name_kana",), width=12),
    Column("given_kana", "メイ", ("given_name_kana",), width=12),
    Column("romaji", "ローマ字氏名", ("name_romaji",), width=18),
    Column("birth_date", "生年月日", ("birth_date",), kind="date", width=11),
    Column("birth_year", "生まれ年", ("birth_date", "birth_year"), kind="number", width=8),
    Column("gender", "性別", ("gender",), width=6),
    Column("email", "メールアドレス", ("email",), default=True, width=28),
    Column("phone", "電話番号", ("phone",), default=True, width=14),
    Column("postal_code", "郵便番号", ("postal_code",), default=True, width=9),
    Column("prefecture", "都道府県", ("prefecture",), default=True, width=9),
    Column("municipality", "市区町村", ("municipality",), default=True, width=14),
    Column("address", "住所", ("address",), default=True, width=28),
    Column("country", "国", ("country",), width=12),
    Column("residence", "居住地", ("residence",), default=True, width=8),
    Column("categories", "関係区分", ("category_ids",), default=True, width=20),
    Column("channel", "登録のきっかけ", ("channel_id",), width=16),
    Column("registered_on", "登録日", ("registered_on",), kind="date", default=True, width=11),
    Column("status", "状態", ("status",), width=7),
    Column("withdrawn_on", "退会日", ("withdrawn_on",), kind="date", width=11),
    Column("withdrawal_reason", "退会理由", ("withdrawal_reason",), width=20),
    Column("news_opt_in", "お知らせ希望", ("news_opt_in",), width=8),
    Column("show_name_publicly", "氏名公開の同意", ("show_name_publicly",), width=8),
    Column("card_issued", "名刺交付日（初回）", ("card_issued_at",), kind="date", width=11),
    Column("certificate_issued", "感謝状交付日（初回）", ("certificate_issued_at",), kind="date", width=11),
    Column("notes", "メモ", ("notes",), width=30),
)  # fmt: skip
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}
DEFAULT_COLUMNS = [column.key for column in COLUMNS if column.default]


def _first_issued(kind: str):
    return (
        select(func.min(Issuance.issued_at))
        .where(Issuance.supporter_id == Supporter.id, Issuance.kind == kind)
        .scalar_subquery()
    )


def _sources() -> dict:
    """The expressions a column can read, by name (built per statement)."""
    columns = Supporter.__table__.c
    plain = {
        name: columns[name]
        for name in (
            "id", "registration_number", "family_name", "given_name",
            "family_name_kana", "given_name_kana", "name_romaji", "birth_date",
            "birth_year", "gender", "email", "phone", "postal_code", "prefecture",
            "municipality", "address", "country", "residence", "channel_id",
            "registered_on", "status", "withdrawn_on", "withdrawal_reason",
            "news_opt_in", "show_name_publicly", "notes",
        )
    }  # fmt: skip
    links = supporter_categories.c
    return {
        **plain,
        "category_ids": select(
            func.aggregate_strings(cast(links.category_id, String), ",")
        )
        .where(links.supporter_id == Supporter.id)
        .scalar_subquery(),
        "card_issued_at": _first_issued("card"),
        "certificate_issued_at": _first_issued("certificate"),
    }


@dataclass(frozen=True)
class Labels:
    """What codes and ids read as in the file, read once before the rows."""

    residences: dict[str, str]
    statuses: dict[str, str]
    categories: dict[int, str]  # in the admins' order
    channels: dict[int, str]


def labels_for(settings) -> Labels:
    terms = japanese_town_terms(settings)
    return Labels(
        residences={
            "in_town": terms["inside"],
            "in_prefecture": terms["prefecture_inside"],
            "outside_prefecture": terms["prefecture_outside"],
            "overseas": "海外",
            "unknown": "不明",
        },
        statuses={"active": "登録中", "withdrawn": "退会"},
        categories={c.id: c.name for c in list_categories()},
        channels={c.id: c.name for c in list_channels()},
    )


def headers(keys: list[str]) -> list[str]:
    return [COLUMNS_BY_KEY[key].header for key in keys]


def widths(keys: list[str]) -> list[float]:
    return [COLUMNS_BY_KEY[key].width for key in keys]


def text_keys(keys: list[str]) -> list[str]:
    """The chosen columns that may hold characters CP932 lacks."""
    return [key for key in keys if COLUMNS_BY_KEY[key].kind == "text"]


def _source_names(keys: list[str]) -> list[str]:
    names = ["id"]
    for key in keys:
        names += [s for s in COLUMNS_BY_KEY[key].sources if s not in names]
    return names


def export_statement(
    filters: SupporterFilter, keys: list[str], by_id: bool = False
) -> Select:
    """The chosen columns' sources (after the id) for every matching Liker, in the
    list's order (or by id)."""
    hits = matching_keys(filters)
    sources = _source_names(keys)
    expressions = _sources()
    order = [hits.c.id] if by_id else _order_by(hits, filters.sort)
    return (
        select(*(expressions[name].label(name) for name in sources))
        .select_from(Supporter)
        .join(hits, Supporter.id == hits.c.id)
        .order_by(*order)
    )


def _yes_no(value) -> str:
    return "はい" if value else "いいえ"


def joined_name(family: str | None, given: str | None) -> str:
    return NAME_SEPARATOR.join(part for part in (family, given) if part)


def _year(birth_date, birth_year):
    return birth_date.year if birth_date else birth_year


def _jst_date(issued_at):
    return to_jst(issued_at).date() if issued_at is not None else None


# Columns made of two sources.
_COMBINED = {"name": joined_name, "kana": joined_name, "birth_year": _year}


def _converters(labels: Labels) -> dict[str, Callable]:
    """How a one-source column's value becomes its cell (as it is when missing)."""
    order = list(labels.categories)

    def category_names(ids: str | None) -> str:
        chosen = {int(i) for i in ids.split(",")} if ids else set()
        return "、".join(labels.categories[i] for i in order if i in chosen)

    return {
        "residence": labels.residences.get,
        "categories": category_names,
        "channel": labels.channels.get,
        "status": labels.statuses.get,
        "news_opt_in": _yes_no,
        "show_name_publicly": _yes_no,
        "card_issued": _jst_date,
        "certificate_issued": _jst_date,
    }


def row_maker(keys: list[str], labels: Labels) -> Callable[[tuple], list]:
    """A function from a row of export_statement(keys) to the file's cells."""
    position = {name: i for i, name in enumerate(_source_names(keys))}
    converters = _converters(labels)

    def maker(key: str) -> Callable[[tuple], object]:
        at = [position[name] for name in COLUMNS_BY_KEY[key].sources]
        if key in _COMBINED:
            combine, (first, second) = _COMBINED[key], at
            return lambda row: combine(row[first], row[second])
        convert = converters.get(key)
        if convert is None:
            return itemgetter(at[0])
        return lambda row: convert(row[at[0]])

    makers = [maker(key) for key in keys]

    def make(row) -> list:
        return [cell(row) for cell in makers]

    return make


def stream_rows(
    connection: Connection, statement: Select, make: Callable[[tuple], list]
) -> Iterator[list]:
    """The file's rows, fetched a few thousand at a time (a server-side cursor on
    PostgreSQL; SQLite steps its cursor as rows are taken)."""
    result = connection.execution_options(yield_per=ROWS_PER_FETCH).execute(statement)
    try:
        for row in result:
            yield make(row)
    finally:
        result.close()


def matching_id_ranges(connection: Connection, filters: SupporterFilter) -> str:
    """The ids of every matching Liker as id ranges (crm.exports.audit), read as a
    stream: 200,000 ids never sit in a list."""
    hits = matching_keys(filters)
    ids = connection.execution_options(yield_per=ROWS_PER_FETCH * 5).scalars(
        select(hits.c.id).order_by(hits.c.id)
    )
    return id_ranges(ids)


def count_matching(filters: SupporterFilter) -> int:
    return db.session.scalar(select(func.count()).select_from(matching_keys(filters)))
