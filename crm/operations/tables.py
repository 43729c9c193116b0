"""Walking a database's tables: row counts and checksums that SQLite and PostgreSQL agree on.

A backup's manifest, a restore's check and the move to PostgreSQL all compare
tables by (rows, checksum). The checksum is computed from the values as Python
sees them through the app's column types, normalised so that the same data
gives the same text on both databases: booleans as 0/1, datetimes to the
microsecond in UTC without a zone, dates ISO, bytes by their SHA-256, JSON with
sorted keys, floats by repr, Decimals without trailing zeros, NULL as null.

It is the sum (mod 2**256) of every row's SHA-256, so it does not depend on the
order rows come in: PostgreSQL and SQLite sort text differently, and no ORDER BY
is needed over millions of rows. A changed, added or removed row changes it.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Connection, column, func, inspect, select, table
from sqlalchemy.sql.expression import TableClause

from crm.extensions import db

# Kept by Alembic, not by the app: compared, but never copied by the move.
ALEMBIC_TABLE = "alembic_version"
# Filled by `flask --app crm setup` (crm.setup_data): a database whose other
# tables are all empty is still an empty installation.
SEEDED_BY_SETUP = ("categories", "channels", "themes", "counters", "town_settings")
BATCH_ROWS = 2000
MODULUS = 2**256

# How a non-empty table is named to an IT person ("the database already holds …").
TABLE_WORDS = {
    "supporters": ("Liker", "Likers"),
    "users": ("staff account", "staff accounts"),
    "audit_entries": ("audit entry", "audit entries"),
    "events": ("event", "events"),
    "attendances": ("attendance record", "attendance records"),
    "issuances": ("issued document", "issued documents"),
    "consent_records": ("consent record", "consent records"),
    "document_images": ("uploaded image (logo, seal)", "uploaded images (logo, seal)"),
}


@dataclass(frozen=True)
class TableSum:
    name: str
    rows: int
    checksum: str

    def as_manifest(self) -> dict:
        return {"rows": self.rows, "checksum": self.checksum}


@dataclass(frozen=True)
class TableComparison:
    name: str
    expected: TableSum | None
    found: TableSum | None

    @property
    def ok(self) -> bool:
        return self.expected == self.found


def normalised(value):
    """One value as the same JSON-able thing on SQLite and PostgreSQL."""
    if value is None or isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


# Values the drivers already return alike on both databases: used as they are.
_AS_IS = frozenset({int, str, type(None)})


def row_digest(values) -> int:
    # repr() of a tuple of None/int/str tells 1 from "1" and None from "None".
    text = repr(tuple(v if type(v) in _AS_IS else normalised(v) for v in values))
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def table_names(connection: Connection) -> list[str]:
    """The tables in the database: the app's in foreign-key order, then any others."""
    present = set(inspect(connection).get_table_names())
    ordered = [t.name for t in db.metadata.sorted_tables if t.name in present]
    return ordered + sorted(present - set(ordered))


def typed_table(connection: Connection, name: str) -> TableClause:
    """The table's columns as they are in this database, typed as the app reads them.

    Columns are taken from the database (an older backup may lack new ones) and
    sorted by name, so both sides list them alike; the app's model gives each its
    type (Boolean, DateTime, JSON…), the database's own type serves the rest.
    """
    model = db.metadata.tables.get(name)
    columns = []
    for reflected in sorted(
        inspect(connection).get_columns(name), key=lambda c: c["name"]
    ):
        column_name = reflected["name"]
        if model is not None and column_name in model.c:
            column_type = model.c[column_name].type
        else:
            column_type = reflected["type"]
        columns.append(column(column_name, column_type))
    return table(name, *columns)


def stream_rows(
    connection: Connection, table_clause: TableClause, batch: int = BATCH_ROWS
) -> Iterator[list]:
    """The table's rows in batches, without holding the whole table in memory."""
    result = connection.execute(
        select(*table_clause.c).execution_options(yield_per=batch)
    )
    yield from result.partitions(batch)


def table_sum(connection: Connection, name: str) -> TableSum:
    table_clause = typed_table(connection, name)
    total = 0
    rows = 0
    for batch in stream_rows(connection, table_clause):
        for row in batch:
            total = (total + row_digest(row)) % MODULUS
        rows += len(batch)
    return TableSum(name, rows, f"{total:064x}")


def table_sums(connection: Connection) -> dict[str, TableSum]:
    return {name: table_sum(connection, name) for name in table_names(connection)}


def compare(
    expected: dict[str, TableSum], found: dict[str, TableSum]
) -> list[TableComparison]:
    names = list(expected) + [name for name in found if name not in expected]
    return [TableComparison(n, expected.get(n), found.get(n)) for n in names]


def comparison_lines(
    comparisons: list[TableComparison], left: str, right: str
) -> list[str]:
    """A table of counts and checksums, one line per database table."""
    width = max([len(c.name) for c in comparisons] + [5])
    lines = [
        f"{'table':<{width}}  {left + ' rows':>14}  {right + ' rows':>14}  "
        f"checksum (first 16 hex)  result"
    ]
    for c in comparisons:
        left_rows = f"{c.expected.rows:,}" if c.expected else "missing"
        right_rows = f"{c.found.rows:,}" if c.found else "missing"
        checksum = (c.found or c.expected).checksum[:16]
        if c.ok:
            result = "ok"
        elif c.expected and c.found and c.expected.rows == c.found.rows:
            result = "MISMATCH (same count, different content)"
        else:
            result = "MISMATCH"
        lines.append(
            f"{c.name:<{width}}  {left_rows:>14}  {right_rows:>14}  "
            f"{checksum:<23}  {result}"
        )
    return lines


def sums_from_manifest(tables: dict) -> dict[str, TableSum]:
    return {
        name: TableSum(name, value["rows"], value["checksum"])
        for name, value in tables.items()
    }


def row_counts(connection: Connection) -> dict[str, int]:
    return {
        name: connection.execute(select(func.count()).select_from(table(name))).scalar()
        for name in table_names(connection)
    }


def contents_beyond_setup(connection: Connection) -> dict[str, int]:
    """Tables holding rows that `flask --app crm setup` would not have put there.

    An installation is empty when this is {}: no tables at all, or only the
    reference lists and town settings that setup seeds (and Alembic's version).
    """
    return {
        name: count
        for name, count in row_counts(connection).items()
        if count and name not in SEEDED_BY_SETUP and name != ALEMBIC_TABLE
    }


def describe_contents(contents: dict[str, int]) -> str:
    """'1,234 Likers, 3 staff accounts and 12 rows in table tags'."""
    named = [
        f"{contents[name]:,} {one if contents[name] == 1 else many}"
        for name, (one, many) in TABLE_WORDS.items()
        if name in contents
    ]
    named += [
        f"{count:,} {'row' if count == 1 else 'rows'} in table {name}"
        for name, count in contents.items()
        if name not in TABLE_WORDS
    ]
    if len(named) > 5:
        named = named[:5] + [f"{len(named) - 5} more tables with rows"]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def alembic_revision(connection: Connection) -> str | None:
    if ALEMBIC_TABLE not in inspect(connection).get_table_names():
        return None
    return connection.execute(
        select(column("version_num")).select_from(table(ALEMBIC_TABLE))
    ).scalar()
