"""Backups that restore: one file with the database, a manifest and instance/config.py.

A backup is a gzip-compressed tar file an IT person can copy away and look into
with `tar -tzf`. It holds, in this order:

  manifest.json       what the backup is: format, app version, database kind,
                      Alembic revision, time, per-table row counts and checksums
  instance/config.py  the site's settings with the secret key, when the file exists
  database.sqlite3    a consistent copy made with SQLite's online backup API, or
  database.pgdump     pg_dump --format=custom, from the same snapshot as the manifest

Uploaded images (logo, seal) and the document settings are database tables, so
they are in. The print-job queue (instance/jobs.sqlite3) is not: it only holds
work in progress and finished PDFs waiting for download, which can be printed again.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Engine

from crm.audit.chain import HASHED, ChainCheck, verify_rows
from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.operations.tables import (
    TableComparison,
    alembic_revision,
    compare,
    contents_beyond_setup,
    describe_contents,
    sums_from_manifest,
    table_sums,
)

FORMAT = "likers-crm-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
CONFIG_NAME = "instance/config.py"
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
PG_DUMP = os.environ.get("CRM_PG_DUMP", "pg_dump")
PG_RESTORE = os.environ.get("CRM_PG_RESTORE", "pg_restore")
COPY_CHUNK = 1024 * 1024
# libpq reads these from the environment; a password never goes on the command line.
LIBPQ_QUERY_ENV = {
    "host": "PGHOST",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


class BackupError(Exception):
    """Something an IT person must act on; the message says what."""


@dataclass
class BackupResult:
    path: Path
    size: int
    manifest: dict


@dataclass
class RestoreResult:
    manifest: dict
    comparisons: list[TableComparison]
    audit: ChainCheck | None
    upgrade_needed: bool
    config_note: str
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.comparisons) and (
            self.audit is None or self.audit.ok
        )


def app_version() -> str:
    try:
        return metadata.version("likers-crm")
    except metadata.PackageNotFoundError:
        return "unknown"


def migration_scripts() -> ScriptDirectory:
    from crm import MIGRATIONS_DIR

    return ScriptDirectory(MIGRATIONS_DIR)


def head_revision() -> str:
    return migration_scripts().get_current_head()


def is_known_revision(revision: str | None) -> bool:
    if revision is None:
        return False
    try:
        return migration_scripts().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def instance_config_path() -> Path:
    return Path(current_app.instance_path) / "config.py"


def sqlite_path(engine: Engine) -> Path:
    return Path(engine.url.database).resolve()


def libpq_environment(engine: Engine) -> dict[str, str]:
    """The app's PostgreSQL connection as libpq variables, for pg_dump and pg_restore."""
    url = engine.url
    environment = dict(os.environ)
    values = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    for key, variable in LIBPQ_QUERY_ENV.items():
        if key in url.query:
            value = url.query[key]
            values[variable] = value if isinstance(value, str) else value[0]
    environment.update({k: v for k, v in values.items() if v})
    return environment


# --- taking a backup ---------------------------------------------------------


def create_backup(output: str | os.PathLike) -> BackupResult:
    """Write a backup of the app's database to output, atomically."""
    engine = db.engine
    kind = engine.dialect.name
    if kind not in DATABASE_MEMBERS:
        raise BackupError(f"backups of {kind} databases are not supported")
    final = Path(output).resolve()
    if final.is_dir():
        raise BackupError(
            f"{final} is a folder: give a file name, e.g. {final}/likers.backup.tar.gz"
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".likers-backup-", dir=final.parent))
    try:
        database_file = work / DATABASE_MEMBERS[kind]
        if kind == "sqlite":
            details = _copy_sqlite(engine, database_file)
        else:
            details = _dump_postgresql(engine, database_file)
        manifest = _manifest(kind, database_file, details)
        partial = work / "backup.partial"
        _write_archive(partial, manifest, database_file)
        os.replace(partial, final)  # a killed backup never leaves a half file here
        _sync_folder(final.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(final, final.stat().st_size, manifest)


def _copy_sqlite(engine: Engine, copy: Path) -> dict:
    """A consistent copy while the app goes on writing: SQLite's online backup API.

    One step copies every page inside one read transaction, so the copy is the
    database at one moment; in WAL mode the desks' writes go on meanwhile.
    """
    path = sqlite_path(engine)
    if not path.is_file():
        raise BackupError(f"there is no database at {path}: check CRM_DATABASE_URL")
    source = sqlite3.connect(
        f"file:{path}?mode=ro",
        uri=True,
        timeout=current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000,
    )
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
        # One self-contained file, whatever journal mode the original used.
        target.execute("PRAGMA journal_mode=DELETE")
        integrity = [row[0] for row in target.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"cannot read the database {path}: {error}") from error
    finally:
        target.close()
        source.close()
    if integrity != ["ok"]:
        raise BackupError(
            "the copy fails SQLite's integrity check: "
            + "; ".join(integrity[:5])
            + ". No backup was written. The database itself may be damaged: "
            "keep your older backups and run PRAGMA integrity_check on it."
        )
    copy_engine = create_engine(f"sqlite:///{copy}")
    try:
        with copy_engine.connect() as connection:
            sums = table_sums(connection)
            revision = alembic_revision(connection)
    finally:
        copy_engine.dispose()
    return {
        "integrity_check": "ok",
        "server_version": sqlite3.sqlite_version,
        "sums": sums,
        "revision": revision,
    }


def _dump_postgresql(engine: Engine, dump: Path) -> dict:
    """pg_dump and the manifest's checksums from one snapshot, while the app runs."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
            command = [
                PG_DUMP,
                "--format=custom",
                "--compress=0",  # the backup file is compressed as a whole
                f"--snapshot={snapshot}",
                f"--file={dump}",
                "--no-password",
            ]
            errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
            try:
                running = subprocess.Popen(  # noqa: S603  # nosec B603
                    command,
                    env=libpq_environment(engine),
                    stderr=errors,
                    stdin=subprocess.DEVNULL,
                )
            except FileNotFoundError as error:
                errors.close()
                raise BackupError(
                    f"{PG_DUMP} was not found: install the PostgreSQL client "
                    "(apt-get install postgresql-client)"
                ) from error
            try:  # the checksums while pg_dump reads the same snapshot
                sums = table_sums(connection)
                revision = alembic_revision(connection)
                version = connection.execute(text("SHOW server_version")).scalar()
                running.wait()
            finally:
                if running.poll() is None:
                    running.kill()
                    running.wait()
                errors.seek(0)
                messages = errors.read().decode(errors="replace").strip()
                errors.close()
    if running.returncode != 0:
        raise BackupError(f"pg_dump failed: {messages} No backup was written.")
    return {
        "integrity_check": "pg_dump completed",
        "server_version": version,
        "sums": sums,
        "revision": revision,
    }


def _manifest(kind: str, database_file: Path, details: dict) -> dict:
    if details["revision"] is None:
        raise BackupError(
            "the database has no tables yet: there is nothing to back up "
            "(check CRM_DATABASE_URL, or run `flask --app crm setup`)"
        )
    sums = details["sums"]
    config = instance_config_path()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": app_version(),
        "database": kind,
        "database_server_version": details["server_version"],
        "alembic_revision": details["revision"],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "integrity_check": details["integrity_check"],
        "likers": sums["supporters"].rows if "supporters" in sums else 0,
        "database_file": {
            "name": database_file.name,
            "bytes": database_file.stat().st_size,
            "sha256": _file_sha256(database_file),
        },
        "includes_instance_config": config.is_file(),
        "tables": {name: value.as_manifest() for name, value in sums.items()},
    }


def _write_archive(partial: Path, manifest: dict, database_file: Path) -> None:
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    config = instance_config_path()
    # Only the owner may read it: it holds every Liker's personal data.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as archive:
            _add_bytes(archive, MANIFEST_NAME, manifest_bytes)
            if config.is_file():
                _add_bytes(archive, CONFIG_NAME, config.read_bytes(), mode=0o600)
            archive.add(database_file, arcname=database_file.name, filter=_private)
        raw.flush()
        os.fsync(raw.fileno())


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mode=0o644) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# --- reading a backup --------------------------------------------------------

DAMAGED = (
    "{path} is damaged or incomplete ({reason}). It cannot be restored: "
    "use another backup generation, and check how backups are copied."
)


def read_manifest(path: str | os.PathLike) -> dict:
    """The backup's manifest; BackupError when the file is not a readable backup."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            first = archive.next()
            if first is None or first.name != MANIFEST_NAME:
                raise BackupError(
                    f"{path} is not a Likers CRM backup (no manifest.json at its start)"
                )
            manifest = json.loads(archive.extractfile(first).read())
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as error:
        raise BackupError(DAMAGED.format(path=path, reason=error)) from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Likers CRM backup")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise BackupError(
            f"{path} was written by a newer Likers CRM (backup format "
            f"{manifest['format_version']}): install that version to restore it"
        )
    return manifest


def extract_database(path: Path, manifest: dict, folder: Path) -> Path:
    """Unpack the database file into folder, checking its SHA-256 against the manifest.

    Reads the archive to its end, so gzip's own check of the whole file runs too.
    """
    expected = manifest["database_file"]
    target = folder / expected["name"]
    digest = hashlib.sha256()
    found = False
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive:
                if member.name != expected["name"] or not member.isfile():
                    continue
                found = True
                source = archive.extractfile(member)
                with open(target, "wb") as handle:
                    while chunk := source.read(COPY_CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(DAMAGED.format(path=path, reason=error)) from error
    if not found:
        raise BackupError(
            DAMAGED.format(path=path, reason=f"{expected['name']} is missing")
        )
    if digest.hexdigest() != expected["sha256"]:
        raise BackupError(
            DAMAGED.format(path=path, reason="the database file's SHA-256 differs")
        )
    return target


def read_instance_config(path: Path) -> bytes | None:
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive:
                if member.name == CONFIG_NAME and member.isfile():
                    return archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(DAMAGED.format(path=path, reason=error)) from error
    return None


# --- restoring ---------------------------------------------------------------


def check_target_is_empty(engine: Engine) -> None:
    with engine.connect() as connection:
        contents = contents_beyond_setup(connection)
    if contents:
        raise BackupError(
            f"the database already holds {describe_contents(contents)}. "
            "A restore only goes onto an empty installation (no tables, or only the "
            "lists `flask --app crm setup` creates and no staff account): create a new "
            "empty database, point CRM_DATABASE_URL at it (or move the SQLite file "
            "away), and run the restore again. Nothing was changed."
        )


def restore_backup(path: str | os.PathLike) -> RestoreResult:
    """Restore a backup onto the app's (empty) database, then check it against the manifest."""
    path = Path(path).resolve()
    manifest = read_manifest(path)
    engine = db.engine
    kind = engine.dialect.name
    revision = manifest.get("alembic_revision")
    head = head_revision()
    if revision is None:
        raise BackupError(
            "the backup holds an empty database: there is nothing to restore"
        )
    if not is_known_revision(revision):
        raise BackupError(
            f"the backup's database revision {revision!r} is unknown to this Likers CRM "
            f"({app_version()}): it was made by a newer version. Install that version "
            "(or newer) and restore again."
        )
    if manifest["database"] == "postgresql" and kind != "postgresql":
        raise BackupError(
            "this is a backup of a PostgreSQL installation; it can only be restored "
            "onto PostgreSQL: set CRM_DATABASE_URL to an empty PostgreSQL database"
        )
    if manifest["database"] == "sqlite" and kind == "postgresql" and revision != head:
        raise BackupError(
            "this SQLite backup is of an older database revision than this Likers CRM. "
            "Restore it onto SQLite first, run `flask --app crm db upgrade`, then "
            "`flask --app crm move-to-postgresql --to …`"
        )
    db.session.remove()
    if kind == "sqlite":
        folder = sqlite_path(engine).parent
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = None  # the system's temporary folder (TMPDIR)
    check_target_is_empty(engine)
    work = Path(tempfile.mkdtemp(prefix=".likers-restore-", dir=folder))
    notes = []
    try:
        database_file = extract_database(path, manifest, work)
        if manifest["database"] == "sqlite" and kind == "sqlite":
            _restore_sqlite(database_file, engine)
        elif manifest["database"] == "sqlite":
            from crm.operations.move import copy_sqlite_file_to

            copy_sqlite_file_to(database_file, engine)
            notes.append(
                "The SQLite backup was copied into PostgreSQL table by table "
                "(as move-to-postgresql does)."
            )
        else:
            _restore_postgresql(database_file, engine)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    engine.dispose()
    with engine.connect() as connection:
        found = table_sums(connection)
        audit = audit_check(connection) if revision == head else None
    expected = sums_from_manifest(manifest["tables"])
    if manifest["database"] != kind:
        # The move keeps PostgreSQL's own Alembic row, at the same revision.
        expected.pop("alembic_version", None)
        found.pop("alembic_version", None)
    return RestoreResult(
        manifest=manifest,
        comparisons=compare(expected, found),
        audit=audit,
        upgrade_needed=revision != head,
        config_note=_restore_instance_config(path, manifest),
        notes=notes,
    )


def _restore_sqlite(database_file: Path, engine: Engine) -> None:
    """Copy pages into the app's SQLite file through the backup API, under its locks."""
    with sqlite3.connect(database_file) as check:
        integrity = [row[0] for row in check.execute("PRAGMA integrity_check")]
    if integrity != ["ok"]:
        raise BackupError(
            "the database in the backup fails SQLite's integrity check: "
            + "; ".join(integrity[:5])
        )
    engine.dispose()  # none of this process's connections may hold the file
    source = sqlite3.connect(database_file)
    target = sqlite3.connect(sqlite_path(engine), timeout=30)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as error:
        raise BackupError(
            f"could not write {sqlite_path(engine)} ({error}): stop the app "
            "(and any `flask` command using it) and restore again"
        ) from error
    finally:
        target.close()
        source.close()


def _restore_postgresql(dump: Path, engine: Engine) -> None:
    with engine.connect() as connection:
        has_tables = bool(inspect(connection).get_table_names())
    if has_tables:  # empty of data, as checked: clear the schema setup left
        try:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        except Exception as error:
            raise BackupError(
                f"could not clear the empty database's schema ({error}). Ask the "
                "database administrator for a new empty database, owned by the app's "
                "account, and restore into that."
            ) from error
    engine.dispose()
    command = [
        PG_RESTORE,
        "--no-owner",  # the new server's account owns everything it restores
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",  # all or nothing
        "--no-password",
        f"--dbname={engine.url.database}",
        str(dump),
    ]
    try:
        finished = subprocess.run(  # noqa: S603  # nosec B603
            command,
            env=libpq_environment(engine),
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as error:
        raise BackupError(
            f"{PG_RESTORE} was not found: install the PostgreSQL client "
            "(apt-get install postgresql-client)"
        ) from error
    if finished.returncode != 0:
        raise BackupError(
            "pg_restore failed, nothing was restored: "
            + finished.stderr.decode(errors="replace").strip()
        )


def _restore_instance_config(path: Path, manifest: dict) -> str:
    if not manifest.get("includes_instance_config"):
        return "The backup holds no instance/config.py."
    content = read_instance_config(path)
    config = instance_config_path()
    if content is None:
        return "The backup holds no instance/config.py."
    if config.is_file():
        if config.read_bytes() == content:
            return f"{config} is the same as the backup's."
        return (
            f"{config} differs from the backup's and was kept. The backup's copy "
            f"(with the old secret key): tar -xzf {path} {CONFIG_NAME}"
        )
    config.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    return f"Wrote {config} from the backup (it holds the secret key)."


def audit_check(connection) -> ChainCheck:
    """`flask --app crm audit verify` on any connection: the hash chain, in id order."""
    table = AuditEntry.__table__
    columns = [table.c.id, table.c.prev_hash, table.c.hash]
    columns += [table.c[name] for name in HASHED]
    rows = connection.execute(
        select(*columns).order_by(table.c.id).execution_options(yield_per=1000)
    ).mappings()
    return verify_rows(rows)
