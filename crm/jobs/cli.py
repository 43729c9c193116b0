"""flask --app crm jobs worker: the print queue's consumer as a service of its own."""

import logging
import os

import click
from flask import current_app
from flask.cli import AppGroup

from crm.jobs.queue import SQLITE_FILE, get_queue

jobs_cli = AppGroup("jobs", help="Background print jobs.")


@jobs_cli.command("worker")
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    help="Jobs printed at the same time (threads).",
)
def worker_command(workers: int):
    """Print queued jobs until stopped.

    For sites that set CRM_JOBS_IN_PROCESS=0; with CRM_REDIS_URL, run as many as
    needed, on any machine that reaches the database. Ctrl+C (SIGINT) lets the
    jobs being printed finish, SIGTERM stops at once: under systemd, set
    KillSignal=SIGINT.
    """
    app = current_app._get_current_object()
    if app.config["JOBS_IMMEDIATE"]:
        raise click.ClickException("JOBS_IMMEDIATE is set: jobs run inside requests.")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    queue = get_queue(app)
    click.echo(f"Printing queued jobs from {_describe(app)} with {workers} worker(s).")
    queue.consumer_for(workers=workers).run()


def _describe(app) -> str:
    if app.config.get("REDIS_URL"):
        return "Redis"
    return os.path.join(app.instance_path, SQLITE_FILE)
