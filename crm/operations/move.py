"""Moving an installation from SQLite to PostgreSQL, and proving nothing changed on the way.

The target is migrated to the newest schema if it has no tables, then every table
is copied in foreign-key order, in batches (memory stays flat), ids kept, all in
one transaction: a failed move leaves the target as empty as it was. PostgreSQL's
sequences are then set past the highest id, so new rows get new ids.

The triggers of migration 0009 stay on: a copied attendance or issuance can only
move a Liker's first-participation or first-issue date earlier, and the Liker rows
already carry the source's dates, so the result equals the source; the checksums
below prove it for every table. The audit triggers refuse UPDATE and DELETE only.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import JSON, Connection, create_engine, inspect, table, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from crm.audit.chain import ChainCheck
from crm.extensions import db
from crm.operations.backup import BackupError, audit_check, head_revision
from crm.operations.tables import (
    ALEMBIC_TABLE,
    SEEDED_BY_SETUP,
    TableComparison,
    alembic_revision,
    compare,
    contents_beyond_setup,
    describe_contents,
    stream_rows,
    table_names,
    table_sums,
    typed_table,
)


@dataclass
class MoveResult:
    comparisons: list[TableComparison]
    audit: ChainCheck
    copied_rows: int

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.comparisons) and self.audit.ok


def postgresql_url(url: str) -> str:
    """postgresql://… as the app's driver (psycopg 3) needs it; refuse anything else."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise BackupError(f"not a database URL: {error}") from error
    if parsed.get_backend_name() != "postgresql":
        raise BackupError(
            "--to must be a PostgreSQL URL, e.g. "
            "postgresql+psycopg://likers:PASSWORD@127.0.0.1:5432/likers"
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def move_to_postgresql(
    target_url: str, progress: Callable[[str], None] = print
) -> MoveResult:
    """Copy the app's SQLite database into the empty PostgreSQL database at target_url."""
    source = db.engine
    if source.dialect.name != "sqlite":
        raise BackupError(
            f"the app already uses {source.dialect.name}; the move starts from SQLite"
        )
    db.session.remove()
    target = create_engine(postgresql_url(target_url))
    try:
        return copy_and_verify(source, target, progress)
    finally:
        target.dispose()


def copy_sqlite_file_to(sqlite_file: Path, target: Engine) -> MoveResult:
    """Restore a SQLite backup onto PostgreSQL: the move, from the backup's file."""
    source = create_engine(f"sqlite:///{sqlite_file}")
    try:
        result = copy_and_verify(source, target, lambda _line: None)
    finally:
        source.dispose()
    if not result.ok:
        raise BackupError("the copy into PostgreSQL does not match the backup")
    return result


def copy_and_verify(
    source: Engine, target: Engine, progress: Callable[[str], None]
) -> MoveResult:
    head = head_revision()
    try:
        with source.connect() as connection:
            revision = alembic_revision(connection)
    except OperationalError as error:
        raise BackupError(
            f"cannot read the SQLite database ({error.orig}): stop the app, the print "
            "worker and any other `flask` command using it, then move again"
        ) from error
    if revision != head:
        raise BackupError(
            f"the SQLite database is at revision {revision}, not {head}: run "
            "`flask --app crm db upgrade` first, then move"
        )
    try:
        with target.connect() as connection:
            contents = contents_beyond_setup(connection)
            target_revision = alembic_revision(connection)
    except SQLAlchemyError as error:
        raise BackupError(
            f"cannot connect to the PostgreSQL database: {error.__class__.__name__}: "
            f"{str(error.orig if hasattr(error, 'orig') else error).strip()}"
        ) from error
    if contents:
        raise BackupError(
            f"the PostgreSQL database already holds {describe_contents(contents)}. "
            "Move into a new, empty database. Nothing was changed."
        )
    if target_revision != head:
        progress(f"Creating the tables in PostgreSQL (migrating to {head})…")
        migrate_to_head(target)
    import psycopg

    copied = 0
    try:  # one transaction: a failure leaves the target as empty as it was
        with source.connect() as reading, target.begin() as writing:
            remove_setup_rows(writing)
            for name in table_names(reading):
                if name == ALEMBIC_TABLE:
                    continue
                rows = copy_table(reading, writing, name)
                copied += rows
                progress(f"Copied {rows:,} rows of {name}.")
            reset_sequences(writing)
    except (SQLAlchemyError, psycopg.Error) as error:
        raise BackupError(
            f"the copy failed and was undone, PostgreSQL holds no Likers: {error}"
        ) from error
    # A bulk load leaves the planner without statistics (docs/postgresql.md): until
    # autovacuum gets round to it, lists and reports would be planned blind.
    progress("Gathering statistics for the planner (ANALYZE)…")
    with target.connect().execution_options(isolation_level="AUTOCOMMIT") as tuning:
        tuning.execute(text("ANALYZE"))
    progress("Comparing every table on both sides…")
    with source.connect() as reading, target.connect() as written:
        comparisons = compare(table_sums(reading), table_sums(written))
        audit = audit_check(written)
    return MoveResult(comparisons, audit, copied)


def migrate_to_head(target: Engine) -> None:
    """Create the schema with the app's own migrations, through an app on the target."""
    from flask_migrate import upgrade

    from crm import create_app

    config = current_app.config
    target_app = create_app(
        {
            "SECRET_KEY": config.get("SECRET_KEY"),
            "DATABASE_URL": target.url.render_as_string(hide_password=False),
            "TESTING": config.get("TESTING", False),
            "DEBUG": config.get("DEBUG", False),
            "JOBS_IN_PROCESS": False,
        }
    )
    with target_app.app_context():
        upgrade()
        db.engine.dispose()


def remove_setup_rows(writing: Connection) -> None:
    """An empty target may still hold setup's reference lists: the source's replace them."""
    present = set(inspect(writing).get_table_names())
    for name in reversed(table_names(writing)):
        if name in SEEDED_BY_SETUP and name in present:
            writing.execute(table(name).delete())


def self_references(name: str) -> list[str]:
    """Columns pointing at the same table (a merged Liker at the one kept)."""
    model = db.metadata.tables.get(name)
    if model is None:
        return []
    return [fk.parent.name for fk in model.foreign_keys if fk.column.table is model]


def copy_table(reading: Connection, writing: Connection, name: str) -> int:
    source_table = typed_table(reading, name)
    target_table = typed_table(writing, name)
    source_columns = [c.name for c in source_table.c]
    target_columns = [c.name for c in target_table.c]
    if source_columns != target_columns:  # both sorted by name
        raise BackupError(
            f"table {name} has different columns on the two sides "
            f"(only in SQLite: {sorted(set(source_columns) - set(target_columns))}, "
            f"only in PostgreSQL: {sorted(set(target_columns) - set(source_columns))})"
        )
    # Rows may point at rows of the same table copied later: set those links after.
    later = [source_columns.index(column) for column in self_references(name)]
    links = []

    def without_later_links(row) -> list:
        values = list(row)
        pointing = {
            source_columns[i]: values[i] for i in later if values[i] is not None
        }
        if pointing:
            links.append((row.id, pointing))
            for i in later:
                values[i] = None
        return values

    if writing.dialect.driver != "psycopg":
        raise BackupError(
            "the copy needs the psycopg driver: use a postgresql+psycopg:// URL"
        )
    batches = stream_rows(reading, source_table)
    rows = _copy_in(writing, name, target_table, batches, without_later_links)
    for row_id, pointing in links:
        writing.execute(
            target_table.update().where(target_table.c.id == row_id).values(**pointing)
        )
    return rows


def _copy_in(writing: Connection, name, target_table, batches, prepare) -> int:
    """PostgreSQL's COPY: several times faster than INSERTs for big tables."""
    from psycopg.types.json import Json

    json_at = [
        i for i, column in enumerate(target_table.c) if isinstance(column.type, JSON)
    ]
    columns = ", ".join(f'"{column.name}"' for column in target_table.c)
    rows = 0
    cursor = writing.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN') as copy:
            for batch in batches:
                for row in batch:
                    values = prepare(row)
                    for i in json_at:  # as the app writes JSON: None becomes null
                        values[i] = Json(values[i])
                    copy.write_row(values)
                rows += len(batch)
    finally:
        cursor.close()
    return rows


def reset_sequences(writing: Connection) -> None:
    """Each id sequence to the highest id copied, so the next insert gets a new one."""
    owned = writing.execute(
        text(
            "SELECT table_name, column_name, "
            "pg_get_serial_sequence(quote_ident(table_name), column_name) "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL"
        )
    ).all()
    for table_name, column_name, sequence in owned:
        # Names from the database's own catalogue, quoted.
        query = (
            f'SELECT setval(:sequence, coalesce(max("{column_name}"), 1), '  # noqa: S608
            f'max("{column_name}") IS NOT NULL) FROM "{table_name}"'
        )
        writing.execute(text(query), {"sequence": sequence})
