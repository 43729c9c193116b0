"""flask --app crm check: is this installation ready to serve?"""

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from crm.extensions import db
from crm.operations.serving import production_checks


@click.command("check")
@with_appcontext
def check_command():
    """Check the secret key, debug mode, the database and its schema before serving."""
    app = current_app._get_current_object()
    click.echo(f"Instance folder: {app.instance_path}")
    click.echo(f"Database: {db.engine.url.render_as_string(hide_password=True)}")
    checks = production_checks(app)
    for check in checks:
        if check.problem is None:
            label = click.style("OK     ", fg="green")
        elif check.warning_only:
            label = click.style("WARNING", fg="yellow")
        else:
            label = click.style("PROBLEM", fg="red")
        click.echo(f"{label}  {check.name}")
        if check.problem:
            click.echo(f"         {check.problem}")
    blocking = [c for c in checks if c.blocks_start]
    if blocking:
        click.echo(
            f"{len(blocking)} problem(s): the server will refuse to start. "
            "Fix them, then run `flask --app crm check` again."
        )
        raise click.exceptions.Exit(1)
    click.echo("Ready to serve.")


def register(app: Flask) -> None:
    app.cli.add_command(check_command)
