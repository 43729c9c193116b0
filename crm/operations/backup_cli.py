"""flask --app crm backup -o FILE | restore FILE | move-to-postgresql --to URL

The work is done in crm.operations.backup and crm.operations.move; these only
print what happened and what to do next (see docs/backup.md).
"""

import sys
import time

import click
from flask import Flask
from flask.cli import with_appcontext

from crm.operations.backup import BackupError, create_backup, restore_backup
from crm.operations.tables import comparison_lines


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return str(size)


@click.command("backup")
@with_appcontext
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The backup file to write (e.g. /var/backups/likers/likers-2026-11-23.tar.gz).",
)
def backup_command(output: str):
    """Write a backup of the database (and instance/config.py) to one file."""
    started = time.monotonic()
    try:
        result = create_backup(output)
    except BackupError as error:
        raise click.ClickException(f"backup failed: {error}") from error
    manifest = result.manifest
    click.echo(
        f"Wrote {result.path} ({_size(result.size)}) in {time.monotonic() - started:.1f} s."
    )
    click.echo(
        f"  database: {manifest['database']}, revision {manifest['alembic_revision']}, "
        f"{len(manifest['tables'])} tables, {manifest['likers']:,} Likers"
    )
    click.echo(f"  integrity: {manifest['integrity_check']}")
    if manifest["includes_instance_config"]:
        click.echo("  includes instance/config.py (with the secret key)")
    click.echo(
        "Keep this file as safe as the database: it holds every Liker's personal data. "
        "Copy it off this machine."
    )


@click.command("restore")
@with_appcontext
@click.argument("backup_file", type=click.Path(dir_okay=False))
def restore_command(backup_file: str):
    """Restore a backup onto an empty installation, then check it table by table."""
    started = time.monotonic()
    try:
        result = restore_backup(backup_file)
    except BackupError as error:
        raise click.ClickException(f"restore refused: {error}") from error
    manifest = result.manifest
    click.echo(
        f"Restored the {manifest['database']} backup of {manifest['created_at']} "
        f"(Likers CRM {manifest['app_version']}, revision {manifest['alembic_revision']}) "
        f"in {time.monotonic() - started:.1f} s."
    )
    for note in result.notes:
        click.echo(note)
    for line in comparison_lines(result.comparisons, "backup", "restored"):
        click.echo("  " + line)
    click.echo(result.config_note)
    if result.audit is not None:
        if result.audit.ok:
            click.echo(
                f"Audit log: OK, {result.audit.rows:,} entries, the chain holds."
            )
        else:
            click.echo(
                f"Audit log: BROKEN at entry {result.audit.broken_id} "
                f"({result.audit.reason} does not match).",
                err=True,
            )
    if not result.ok:
        click.echo(
            "The restored database does NOT match the backup (see above). Do not use it: "
            "restore another backup generation into a new empty database.",
            err=True,
        )
        sys.exit(1)
    if result.upgrade_needed:
        click.echo(
            "The backup is from an older version of the database. Next: "
            "flask --app crm db upgrade, then flask --app crm audit verify."
        )
    else:
        click.echo("All tables match the backup. Next: start the app and sign in.")


@click.command("move-to-postgresql")
@with_appcontext
@click.option(
    "--to",
    "target_url",
    required=True,
    envvar="CRM_MOVE_TO",
    help="The empty PostgreSQL database: postgresql+psycopg://USER:PASSWORD@HOST:5432/NAME "
    "(or set CRM_MOVE_TO, to keep the password off the command line).",
)
def move_command(target_url: str):
    """Copy this SQLite installation into an empty PostgreSQL database (app stopped)."""
    from crm.operations.move import move_to_postgresql

    started = time.monotonic()
    try:
        result = move_to_postgresql(target_url, progress=click.echo)
    except BackupError as error:
        raise click.ClickException(f"move refused: {error}") from error
    for line in comparison_lines(result.comparisons, "SQLite", "PostgreSQL"):
        click.echo("  " + line)
    if result.audit.ok:
        click.echo(f"Audit log: OK, {result.audit.rows:,} entries, the chain holds.")
    else:
        click.echo(
            f"Audit log: BROKEN at entry {result.audit.broken_id} "
            f"({result.audit.reason} does not match).",
            err=True,
        )
    if not result.ok:
        click.echo(
            "The PostgreSQL copy does NOT match the SQLite database: do not switch over. "
            "Drop the PostgreSQL database, create it empty again, and repeat the move.",
            err=True,
        )
        sys.exit(1)
    click.echo(
        f"Moved {result.copied_rows:,} rows in {time.monotonic() - started:.1f} s; "
        "every table matches. Next: set CRM_DATABASE_URL to the PostgreSQL URL "
        "(see docs/backup.md), start the app, and keep the SQLite file as a backup."
    )


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(move_command)
