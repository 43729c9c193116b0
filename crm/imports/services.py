"""Importing Likers: check a whole file, then write all of it or nothing.

check_likers() reads every row, collecting each row's problems and its likely
duplicates (stored Likers, and earlier rows of the same file); commit_likers() reads
the file again and writes it in one transaction with bulk inserts, following the
staff's decision for each row: create a new Liker, update the match, or skip.
Memory stays flat: rows are handled in chunks, never all at once.
"""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import insert, select, update

from crm.admin.services import get_settings
from crm.audit.services import record_event
from crm.consents.services import record_bulk_registration_consents
from crm.exports.audit import id_ranges
from crm.extensions import db
from crm.imports.duplicates import (
    LIKELY,
    FirstLines,
    Match,
    RepeatsWithinFile,
    find_duplicates,
)
from crm.imports.likers import LikerRow, Lookups, fold, read_liker_row
from crm.imports.reading import Table
from crm.supporters.models import (
    Category,
    Channel,
    Counter,
    Supporter,
    Tag,
    supporter_categories,
    supporter_tags,
)
from crm.supporters.services import (
    SUPPORTER_COUNTER,
    SupporterData,
    column_values,
    update_supporter,
)
from crm.supporters.tokens import new_public_token
from crm.timeutil import utcnow

CHUNK = 1000
PREVIEW_ROWS = 20  # rows without problems shown as a sample


class ImportRefused(Exception):
    """The file has problems: nothing was written."""

    def __init__(self, problems: dict[int, list[str]]):
        super().__init__(f"{len(problems)} rows with problems")
        self.problems = problems


@dataclass
class RowCheck:
    line: int
    name: str
    problems: list[str]
    matches: list[Match] = field(default_factory=list)
    repeats_line: int | None = None  # an earlier line of the same file


@dataclass
class LikerCheck:
    """What a file would do: its rows with problems or duplicates, and counts."""

    rows: int = 0
    problems: dict[int, list[str]] = field(default_factory=dict)
    flagged: list[RowCheck] = field(default_factory=list)  # duplicates, to decide
    sample: list[RowCheck] = field(default_factory=list)  # some rows without either

    @property
    def ok(self) -> bool:
        return not self.problems


def lookups() -> Lookups:
    return Lookups(
        categories={fold(c.name): c.id for c in db.session.scalars(select(Category))},
        channels={fold(c.name): c.id for c in db.session.scalars(select(Channel))},
    )


def _rows(table: Table, mapping: dict[int, str], found: Lookups) -> Iterator[LikerRow]:
    for line, cells in table.rows():
        values = {name: cells[int(index)] for index, name in mapping.items()}
        yield read_liker_row(line, values, found)


def _chunks(rows: Iterator[LikerRow]) -> Iterator[list[LikerRow]]:
    chunk: list[LikerRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def mapping_problems(mapping: dict[int, str]) -> list[str]:
    fields = set(mapping.values())
    problems = []
    if not fields & {"family_name", "full_name"}:
        problems.append(_("No column holds the name (姓 or 氏名)."))
    if not fields & {"family_name_kana", "full_kana"}:
        problems.append(_("No column holds the reading (セイ or フリガナ)."))
    return problems


def check_likers(table: Table, mapping: dict[int, str]) -> LikerCheck:
    """Every row's problems and likely duplicates; writes nothing.

    A chunk of rows at a time: what is kept about earlier rows (their keys and
    registration numbers, for repeats within the file) waits in a temporary file,
    so memory does not grow with the file.
    """
    check = LikerCheck()
    found = lookups()
    numbers_in_file = FirstLines()
    repeats = RepeatsWithinFile()
    sampled = 0  # rows that went into the sample, including those flagged later
    try:
        for chunk in _chunks(_rows(table, mapping, found)):
            numbered = [r.registration_number for r in chunk if r.registration_number]
            taken = set(
                db.session.scalars(
                    select(Supporter.registration_number).where(
                        Supporter.registration_number.in_(numbered)
                    )
                )
            ) if numbered else set()  # fmt: skip
            earlier_numbers = numbers_in_file.lines_of(numbered)
            first_numbers: dict[str, int] = {}
            valid = [r for r in chunk if r.data is not None]
            matches = dict(zip((r.line for r in valid),
                               find_duplicates(r.data for r in valid), strict=True))  # fmt: skip
            checked: list[tuple[int, SupporterData]] = []
            names: dict[int, str] = {}
            for row in chunk:
                check.rows += 1
                number = row.registration_number
                if number:
                    earlier = earlier_numbers.get(number, first_numbers.get(number))
                    if number in taken:
                        row.problems.append(
                            _(
                                "The registration number %(number)s is taken already.",
                                number=number,
                            )  # fmt: skip
                        )
                    elif earlier is not None:
                        row.problems.append(
                            _(
                                "The registration number %(number)s is also on line %(line)s.",
                                number=number,
                                line=earlier,
                            )  # fmt: skip
                        )
                    if earlier is None:
                        first_numbers[number] = row.line
                if row.problems:
                    check.problems[row.line] = row.problems
                    continue
                checked.append((row.line, row.data))
                likely = [m for m in matches.get(row.line, []) if m.score >= LIKELY]
                name = names[row.line] = (
                    f"{row.data.family_name} {row.data.given_name}".strip()
                )
                if likely:
                    check.flagged.append(RowCheck(row.line, name, [], likely))
                elif sampled < PREVIEW_ROWS:
                    check.sample.append(RowCheck(row.line, name, []))
                    sampled += 1
            numbers_in_file.add(first_numbers)
            # The same person twice in one file: the later line is flagged too.
            flagged = {r.line: r for r in check.flagged[-len(chunk) :]}
            for line, (earlier, _score) in repeats.check(checked).items():
                row = flagged.get(line)
                if row is None:
                    row = RowCheck(line, names[line], [])
                    check.flagged.append(row)
                    check.sample = [s for s in check.sample if s.line != line]
                row.repeats_line = earlier
    finally:
        numbers_in_file.close()
        repeats.close()
    check.flagged.sort(key=lambda r: r.line)
    return check


def default_decisions(check: LikerCheck) -> dict[str, str]:
    """Flagged rows are skipped unless staff decide otherwise; the rest are created."""
    return {str(row.line): "skip" for row in check.flagged}


def _reserve_numbers(count: int, settings) -> Iterator[str]:
    """count free registration numbers, taken from the counter in one step.

    Numbers already used (imported with their own number) are passed over.
    """
    while count > 0:
        last = db.session.execute(
            update(Counter)
            .where(Counter.name == SUPPORTER_COUNTER)
            .values(value=Counter.value + count)
            .returning(Counter.value),
            execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
        if last is None:
            db.session.add(Counter(name=SUPPORTER_COUNTER, value=0))
            db.session.flush()
            continue
        candidates = [
            settings.format_number(v) for v in range(last - count + 1, last + 1)
        ]
        taken = set(
            db.session.scalars(
                select(Supporter.registration_number).where(
                    Supporter.registration_number.in_(candidates)
                )
            )
        )
        free = [n for n in candidates if n not in taken]
        yield from free
        count -= len(free)


def _tag_ids(names: set[str]) -> dict[str, int]:
    found = {
        t.name: t.id for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))
    }
    for name in names - set(found):
        tag = Tag(name=name)
        db.session.add(tag)
        db.session.flush()
        found[name] = tag.id
    return found


def _update_from(supporter: Supporter, data: SupporterData, user) -> None:
    """The match takes the file's non-empty values; the rest stays as it was."""
    current = SupporterData(
        **{
            name: getattr(supporter, name)
            for name in SupporterData.__dataclass_fields__
            if name not in ("category_ids", "tag_names")
        },
        category_ids=[c.id for c in supporter.categories],
        tag_names=[t.name for t in supporter.tags],
    )
    for name in SupporterData.__dataclass_fields__:
        value = getattr(data, name)
        if name == "category_ids":
            value = sorted(set(current.category_ids) | set(value))
        elif name == "tag_names":
            value = list(dict.fromkeys([*current.tag_names, *value]))
        if value not in (None, "", [], False):
            setattr(current, name, value)
    update_supporter(supporter, current, user, channel="import")


@dataclass
class ImportResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    skipped: int = 0


def commit_likers(
    table: Table, mapping: dict[int, str], decisions: dict[str, str], user=None
) -> ImportResult:
    """Write the file: all rows, or nothing (ImportRefused) when any has a problem.

    decisions: line -> "create", "skip" or "update:<supporter id>"; lines without
    one are created. The caller commits.
    """
    settings = get_settings()
    found = lookups()
    result = ImportResult()
    problems: dict[int, list[str]] = {}
    now = utcnow()
    for chunk in _chunks(_rows(table, mapping, found)):
        for row in chunk:
            if row.problems:
                problems[row.line] = row.problems
        if problems:
            continue  # keep reading: every problem is reported, nothing written
        new_rows = []
        for row in chunk:
            action = decisions.get(str(row.line), "create")
            if action == "skip":
                result.skipped += 1
            elif action.startswith("update:"):
                supporter = db.session.get(Supporter, int(action.split(":", 1)[1]))
                if supporter is None:
                    problems[row.line] = [_("The Liker to update no longer exists.")]
                    continue
                _update_from(supporter, row.data, user)
                result.updated.append(supporter.id)
            else:
                new_rows.append(row)
        numbers = _reserve_numbers(
            sum(1 for r in new_rows if not r.registration_number), settings
        )
        values = []
        for row in new_rows:
            columns = column_values(row.data, settings)
            columns.update(
                registration_number=row.registration_number or next(numbers),
                status="active",
                public_token=new_public_token(),
                privacy_policy_version=settings.privacy_policy_version,
                privacy_consented_at=now,
                created_at=now,
                updated_at=now,
                created_by_id=user.id if user else None,
                updated_by_id=user.id if user else None,
            )
            values.append(columns)
        if not values:
            continue
        # One executemany: render_nulls gives rows with and without e.g. an email
        # one INSERT form (the ORM would split the chunk per NULL pattern), and
        # without RETURNING in row order SQLite is not sent one row at a time.
        # The ids are then read back by the registration numbers, all distinct.
        db.session.execute(
            insert(Supporter), values, execution_options={"render_nulls": True}
        )
        numbers_given = [v["registration_number"] for v in values]
        by_number = dict(
            db.session.execute(
                select(Supporter.registration_number, Supporter.id).where(
                    Supporter.registration_number.in_(numbers_given)
                )
            ).all()
        )
        ids = [by_number[number] for number in numbers_given]
        result.created.extend(ids)
        record_bulk_registration_consents(
            ((i, row.data.news_opt_in, row.data.show_name_publicly)
             for i, row in zip(ids, new_rows, strict=True)),
            "import", settings.privacy_policy_version, user,
        )  # fmt: skip
        links = [
            {"supporter_id": i, "category_id": c}
            for i, row in zip(ids, new_rows, strict=True)
            for c in dict.fromkeys(row.data.category_ids)
        ]
        if links:
            db.session.execute(insert(supporter_categories), links)
        tag_names = {t for row in new_rows for t in row.data.tag_names}
        if tag_names:
            tag_ids = _tag_ids(tag_names)
            db.session.execute(
                insert(supporter_tags),
                [
                    {"supporter_id": i, "tag_id": tag_ids[t]}
                    for i, row in zip(ids, new_rows, strict=True)
                    for t in dict.fromkeys(row.data.tag_names)
                ],
            )
    if problems:
        db.session.rollback()
        raise ImportRefused(problems)
    record_event(
        "import",
        "supporters",
        None,
        {
            "created": len(result.created),
            "updated": result.updated,
            "skipped": result.skipped,
            "created_ids": id_ranges(result.created),
        },
        user=user,
    )
    return result


def new_public_id() -> str:
    return secrets.token_urlsafe(16)
