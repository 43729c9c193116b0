"""The task queue (huey): SQLite in the instance folder, or Redis when configured.

Nobody has to start anything extra: the web process runs a consumer thread of its
own, started by its first request (never by create_app, the CLI or tests). For
bigger sites JOBS_IN_PROCESS is turned off and `flask --app crm jobs worker` runs
as a service of its own, as many as needed. Every consumer may pick up any task:
the job row is claimed atomically (see crm.jobs.tasks), so a job never runs twice.
"""

import logging
import os
import threading

from flask import Flask
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

logger = logging.getLogger(__name__)

QUEUE_NAME = "likers-crm"
SQLITE_FILE = "jobs.sqlite3"
# An idle SQLite consumer looks for new tasks at least this often (seconds); Redis
# consumers are woken at once.
POLL_SECONDS = 1.0

_create_lock = threading.Lock()


class JobQueue:
    """The app's huey instance and its tasks; one per app, made on first use."""

    def __init__(self, app: Flask):
        self.app = app
        self.huey = _make_huey(app)
        self.consumer: Consumer | None = None
        self.run_print_job = self._task(
            "run_print_job", _run_print_job, self.huey.task(name="run_print_job")
        )
        self.cleanup = self._task(
            "delete_old_print_jobs",
            _cleanup,
            self.huey.periodic_task(
                crontab(minute="*/10"), name="delete_old_print_jobs"
            ),
        )

    def _task(self, name: str, function, decorator) -> TaskWrapper:
        app = self.app

        def in_app_context(*args):
            with app.app_context():
                return function(*args)

        in_app_context.__name__ = name
        return decorator(in_app_context)

    def enqueue_print_job(self, job_id: int, language: str) -> None:
        self.run_print_job(job_id, language)

    def consumer_for(self, workers: int = 1, in_process: bool = False) -> Consumer:
        consumer_class = InProcessConsumer if in_process else Consumer
        return consumer_class(
            self.huey,
            workers=workers,
            worker_type="thread",
            max_delay=POLL_SECONDS,
            scheduler_interval=60,  # only the periodic clean-up is scheduled
        )


class InProcessConsumer(Consumer):
    """Worker threads inside the web server, which keeps its own signal handlers."""

    def _set_signal_handlers(self):
        pass


def _make_huey(app: Flask) -> Huey:
    if app.config["JOBS_IMMEDIATE"]:
        return MemoryHuey(QUEUE_NAME, results=False, immediate=True)
    if app.config.get("REDIS_URL"):
        return RedisHuey(QUEUE_NAME, results=False, url=app.config["REDIS_URL"])
    os.makedirs(app.instance_path, exist_ok=True)
    return SqliteHuey(
        QUEUE_NAME,
        results=False,
        filename=os.path.join(app.instance_path, SQLITE_FILE),
    )


def _run_print_job(job_id: int, language: str | None = None) -> None:
    from crm.jobs.tasks import run_print_job

    run_print_job(job_id, language)


def _cleanup() -> None:
    from crm.jobs.tasks import clean_up_jobs

    clean_up_jobs()


def get_queue(app: Flask) -> JobQueue:
    """The app's job queue, made (and the SQLite file created) on first use."""
    queue = app.extensions.get("crm_jobs")
    if queue is None:
        with _create_lock:
            queue = app.extensions.get("crm_jobs")
            if queue is None:
                queue = app.extensions["crm_jobs"] = JobQueue(app)
    return queue


def runs_in_process(app: Flask) -> bool:
    return bool(
        app.config["JOBS_IN_PROCESS"]
        and not app.config["JOBS_IMMEDIATE"]
        and not app.testing
    )


def start_in_process_consumer(app: Flask) -> None:
    """Start this process's consumer thread once (a before_request hook)."""
    if not runs_in_process(app):
        return
    queue = get_queue(app)
    if queue.consumer is not None:
        return
    with _create_lock:
        if queue.consumer is None:
            consumer = queue.consumer_for(workers=1, in_process=True)
            consumer.start()
            queue.consumer = consumer
            logger.info("Print jobs: a worker thread runs in process %s.", os.getpid())


def init_app(app: Flask) -> None:
    app.before_request(lambda: start_in_process_consumer(app))
