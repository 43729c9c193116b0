"""flask --app crm audit verify | contents ENTRY_ID"""

import sys

import click
from flask.cli import AppGroup

from crm.audit.models import AuditEntry
from crm.audit.queries import exported_likers, listed_ids, verify_chain
from crm.audit.services import record_event
from crm.extensions import db

audit_cli = AppGroup("audit", help="Check the audit log and read it for leak reports.")


@audit_cli.command("verify")
def verify_command():
    """Recompute the hash chain: prints OK, or the first broken entry (exit 1)."""
    check = verify_chain()
    if check.ok:
        click.echo(f"OK: {check.rows} audit entries, the chain holds.")
        return
    click.echo(
        f"BROKEN at audit entry {check.broken_id} ({check.reason} does not match); "
        f"{check.rows - 1} entries before it hold.",
        err=True,
    )
    sys.exit(1)


@audit_cli.command("contents")
@click.argument("entry_id", type=int)
def contents_command(entry_id: int):
    """The Liker ids and registration numbers a past export or print held (CSV)."""
    entry = db.session.get(AuditEntry, entry_id)
    if entry is None or not listed_ids(entry):
        raise click.ClickException(
            f"audit entry {entry_id} is not an export or print with a list of Likers"
        )
    likers = exported_likers(entry)
    record_event("reconstruct", "audit_entry", entry.id, {"count": len(likers)})
    db.session.commit()
    click.echo("liker_id,registration_number")
    for liker in likers:
        click.echo(f"{liker.id},{liker.registration_number or ''}")
