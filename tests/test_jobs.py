"""Big print runs in the background: the job, its progress page, its PDF, its queue."""

import shutil
import subprocess
import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.documents.models import Issuance, PrintJob
from crm.extensions import db
from crm.jobs import queue as job_queue
from crm.jobs import tasks
from crm.jobs.services import claim_job, start_print_job
from crm.timeutil import utcnow
from tests.conftest import print_tools_unavailable
from tests.factories import make_supporter


def _likers(app, count: int, **overrides) -> list[int]:
    with app.test_request_context():
        made = [make_supporter(**overrides) for _ in range(count)]
        db.session.commit()
        return [s.id for s in made]


def _start(app, user_id, ids, kind="card", layout="sheet", record_issue=False):
    """A job asked for by this user; with JOBS_IMMEDIATE it runs at the commit."""
    with app.test_request_context(method="POST"):
        user = db.session.get(User, user_id)
        job = start_print_job(kind, layout, ids, {}, record_issue, user)
        public_id, job_id = job.public_id, job.id
        db.session.commit()
    return public_id, job_id


def _job(app, job_id) -> PrintJob:
    with app.app_context():
        job = db.session.get(PrintJob, job_id)
        db.session.expunge(job)
        return job


def _pdf(app, job_id) -> bytes | None:
    with app.app_context():
        return db.session.scalar(select(PrintJob.pdf).where(PrintJob.id == job_id))


def _pages(pdf: bytes) -> int:
    if shutil.which("pdfinfo") is None:
        print_tools_unavailable(
            "pdfinfo is not installed (apt-get install poppler-utils)"
        )
    info = subprocess.run(
        ["pdfinfo", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return int(
        next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1]
    )


def _ledger_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Issuance.id)))


def test_a_job_prints_every_liker_and_its_page_offers_the_pdf(
    app, users, signed_in, gothic
):
    ids = _likers(app, 12)
    public_id, job_id = _start(app, users["staff"], ids, record_issue=True)
    job = _job(app, job_id)
    assert (job.state, job.done, job.total, job.error) == ("done", 12, 12, None)
    assert job.finished_at is not None
    assert job.file_name.startswith("cards-") and job.file_name.endswith("-12.pdf")
    assert _pages(_pdf(app, job_id)) == 2  # A4 sheets of 10
    assert _ledger_count(app) == 12  # recorded when the job was done

    staff = signed_in("staff")
    page = staff.get(f"/jobs/{public_id}").get_data(as_text=True)
    assert "名刺の印刷" in page and "PDFをダウンロード" in page
    assert f"/jobs/{public_id}/download" in page
    assert 'src="/static/jobs.js"' in page and "<script>" not in page
    status = staff.get(f"/jobs/{public_id}.json").get_json()
    assert status["state"] == "done" and status["percent"] == 100
    assert status["download_url"] == f"/jobs/{public_id}/download"
    response = staff.get(f"/jobs/{public_id}/download")
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert job.file_name in response.headers["Content-Disposition"]
    assert _pages(response.data) == 2
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "download")
        )
        assert (entry.object_type, entry.object_id) == ("print_job", job_id)
        assert entry.user_id == users["staff"] and entry.details["count"] == 12
    listing = staff.get("/jobs/").get_data(as_text=True)
    assert f"/jobs/{public_id}" in listing


def test_the_likers_are_printed_in_the_order_asked_for_and_withdrawn_ones_left_out(
    app, users, gothic
):
    from datetime import date

    from crm.supporters.models import Supporter
    from crm.supporters.services import withdraw_supporter

    ids = _likers(app, 3)
    with app.test_request_context():
        withdraw_supporter(db.session.get(Supporter, ids[1]), date(2025, 1, 1), None)
        db.session.commit()
    seen = []

    def fake_render(kind, supporters, layout, *args, **kwargs):
        seen.extend(s.id for s in supporters)
        return b"%PDF-1.4 fake"

    original = tasks.render_documents
    tasks.render_documents = fake_render
    try:
        _public_id, job_id = _start(
            app, users["staff"], [ids[2], 999_999, ids[1], ids[0]], record_issue=True
        )
    finally:
        tasks.render_documents = original
    assert seen == [ids[2], ids[0]]
    job = _job(app, job_id)
    assert (job.state, job.done, job.total) == ("done", 2, 2)
    assert job.supporter_ids == [ids[2], 999_999, ids[1], ids[0]]  # as asked for
    with app.app_context():
        ledger = db.session.scalars(select(Issuance.supporter_id)).all()
    assert sorted(ledger) == sorted([ids[2], ids[0]])  # only those printed


def test_single_cards_make_one_page_each(app, users, gothic):
    ids = _likers(app, 3)
    _public_id, job_id = _start(app, users["staff"], ids, layout="single")
    assert _job(app, job_id).state == "done"
    assert _pages(_pdf(app, job_id)) == 3
    assert _ledger_count(app) == 0  # not asked to record


def test_progress_is_written_where_the_page_can_read_it(app, users, monkeypatch):
    """Each write is committed: another connection sees it while drawing goes on."""
    ids = _likers(app, 5)
    clock = {"now": 0.0}
    monkeypatch.setattr(tasks, "monotonic", lambda: clock["now"])
    seen_by_the_page = []

    def read_done():
        """What the page's GET request reads, on a connection of its own."""
        with app.test_request_context(), db.engine.connect() as connection:
            return tuple(
                connection.execute(
                    text("SELECT done, total, state FROM print_jobs")
                ).one()
            )

    def slow_render(kind, supporters, layout, *args, progress=None, **kwargs):
        seen_by_the_page.append(read_done())
        for done in range(1, len(supporters) + 1):
            clock["now"] += 0.6  # written at most once a second
            progress(done)
            seen_by_the_page.append(read_done())
        return b"%PDF-1.4 fake"

    monkeypatch.setattr(tasks, "render_documents", slow_render)
    _public_id, job_id = _start(app, users["staff"], ids)
    assert seen_by_the_page == [
        (0, 5, "running"),
        (0, 5, "running"),
        (2, 5, "running"),
        (2, 5, "running"),
        (4, 5, "running"),
        (4, 5, "running"),
    ]
    assert _job(app, job_id).done == 5


def test_the_progress_page_shows_a_running_job_and_works_after_a_reload(
    app, users, signed_in
):
    ids = _likers(app, 1)
    with app.app_context():
        job = PrintJob(
            public_id="RunningJobAbCdEfGhIjKl", kind="card", layout="sheet",
            options={}, supporter_ids=ids * 400, state="running", done=120,
            total=400, created_by_id=users["staff"],
        )  # fmt: skip
        db.session.add(job)
        db.session.commit()
    staff = signed_in("staff")
    for _reload in range(2):
        page = staff.get("/jobs/RunningJobAbCdEfGhIjKl").get_data(as_text=True)
        assert "印刷中：400件中 120件 完了" in page
        assert 'data-percent="30"' in page and 'data-state="running"' in page
    status = staff.get("/jobs/RunningJobAbCdEfGhIjKl.json").get_json()
    assert (status["state"], status["done"], status["percent"]) == ("running", 120, 30)
    assert status["download_url"] is None
    download = staff.get("/jobs/RunningJobAbCdEfGhIjKl/download")
    assert download.status_code == 302
    assert download.headers["Location"] == "/jobs/RunningJobAbCdEfGhIjKl"


def test_only_its_maker_and_administrators_see_a_job(app, users, signed_in, gothic):
    ids = _likers(app, 1)
    public_id, _job_id = _start(app, users["staff"], ids)
    with app.app_context():
        from crm.auth.services import create_user
        from tests.conftest import PASSWORD

        create_user("other@example.jp", "Other Staff", "staff", PASSWORD)
        db.session.commit()
    other = signed_in("staff")
    other.post_form("/logout", {}, token_from="/likers/")
    other.post_form("/login", {"email": "other@example.jp", "password": PASSWORD})
    for url in (
        f"/jobs/{public_id}",
        f"/jobs/{public_id}.json",
        f"/jobs/{public_id}/download",
    ):
        assert other.get(url).status_code == 404, url
    assert public_id not in other.get("/jobs/").get_data(as_text=True)
    admin = signed_in("admin")
    assert admin.get(f"/jobs/{public_id}").status_code == 200
    assert admin.get(f"/jobs/{public_id}/download").mimetype == "application/pdf"
    assert signed_in("viewer").get(f"/jobs/{public_id}").status_code == 403
    assert signed_in("staff").get("/jobs/NoSuchJob").status_code == 404


def test_a_name_that_cannot_be_printed_fails_the_job_with_a_message(
    app, users, signed_in, gothic
):
    ids = _likers(app, 2)
    ids += _likers(app, 1, family_name="寿限無" * 20)
    public_id, job_id = _start(app, users["staff"], ids, record_issue=True)
    job = _job(app, job_id)
    assert job.state == "failed" and job.finished_at is not None
    assert "最小の文字サイズでも収まりません" in job.error
    assert "何も印刷していません" in job.error and "Traceback" not in job.error
    assert _pdf(app, job_id) is None and _ledger_count(app) == 0
    staff = signed_in("staff")
    page = staff.get(f"/jobs/{public_id}").get_data(as_text=True)
    assert "最小の文字サイズでも収まりません" in page
    status = staff.get(f"/jobs/{public_id}.json").get_json()
    assert status["state"] == "failed" and "寿限無" in status["error"]


def test_an_unexpected_error_is_explained_without_a_stack_trace(
    app, users, monkeypatch
):
    ids = _likers(app, 1)

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(tasks, "render_documents", broken)
    _public_id, job_id = _start(app, users["staff"], ids)
    job = _job(app, job_id)
    assert job.state == "failed"
    assert "予期しないエラー" in job.error and "secret internals" not in job.error


def test_a_claimed_job_is_not_run_twice(app, users, monkeypatch):
    ids = _likers(app, 2)
    runs = []
    monkeypatch.setattr(
        tasks, "render_documents", lambda *a, **k: runs.append(1) or b"%PDF fake"
    )
    with app.test_request_context():
        job = PrintJob(
            public_id="ClaimedJobAbCdEfGhIjKl", kind="card", layout="sheet",
            options={}, supporter_ids=ids, record_issue=True, total=2,
            created_by_id=users["staff"],
        )  # fmt: skip
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        assert claim_job(job_id) is True
        assert claim_job(job_id) is False  # a second worker finds it taken
        db.session.commit()
    with app.app_context():
        assert tasks.run_print_job(job_id) is False
    assert runs == [] and _job(app, job_id).state == "running"
    with app.app_context():
        db.session.execute(
            text("UPDATE print_jobs SET state = 'queued' WHERE id = :id"),
            {"id": job_id},
        )
        db.session.commit()
        assert tasks.run_print_job(job_id) is True
    with app.app_context():
        assert tasks.run_print_job(job_id) is False  # delivered again: done already
    assert runs == [1] and _ledger_count(app) == 2


def test_a_job_is_queued_only_when_its_request_commits(app, users, monkeypatch):
    queued = []
    monkeypatch.setattr(
        job_queue.JobQueue, "enqueue_print_job", lambda self, *args: queued.append(args)
    )
    ids = _likers(app, 1)
    with app.test_request_context():
        user = db.session.get(User, users["staff"])
        start_print_job("card", "sheet", ids, {}, False, user)
        db.session.rollback()
        assert queued == []
        db.session.commit()  # a later commit does not bring it back
        assert queued == []
        job = start_print_job("card", "sheet", ids, {}, False, user)
        assert queued == []
        db.session.commit()
        assert queued == [(job.id, "ja")]
    with pytest.raises(ValueError):
        with app.test_request_context():
            start_print_job("poster", "sheet", ids, {}, False, None)


def test_pdfs_are_deleted_after_a_day_and_stalled_jobs_given_up(app, users, signed_in):
    with app.app_context():
        old = utcnow() - timedelta(hours=25)
        db.session.add_all(
            [
                PrintJob(public_id="OldDoneJobAbCdEfGhIjKl", kind="card", layout="sheet",
                         options={}, supporter_ids=[1], state="done", done=1, total=1,
                         pdf=b"%PDF old", file_name="cards-old.pdf", finished_at=old,
                         created_at=old, created_by_id=users["staff"]),
                PrintJob(public_id="NewDoneJobAbCdEfGhIjKl", kind="card", layout="sheet",
                         options={}, supporter_ids=[1], state="done", done=1, total=1,
                         pdf=b"%PDF new", file_name="cards-new.pdf", finished_at=utcnow(),
                         created_by_id=users["staff"]),
                PrintJob(public_id="StalledJobAbCdEfGhIjKl", kind="card", layout="sheet",
                         options={}, supporter_ids=[1], state="running", total=1,
                         created_at=old, created_by_id=users["staff"]),
            ]
        )  # fmt: skip
        db.session.commit()
    with app.app_context():
        tasks.clean_up_jobs()
    with app.app_context():
        rows = {
            job.public_id[:6]: (job.state, job.pdf is not None, job.error)
            for job in db.session.scalars(select(PrintJob))
        }
    assert rows["OldDon"] == ("done", False, None)
    assert rows["NewDon"] == ("done", True, None)
    assert rows["Stalle"][:2] == ("failed", False) and "中断" in rows["Stalle"][2]
    staff = signed_in("staff")
    page = staff.get("/jobs/OldDoneJobAbCdEfGhIjKl").get_data(as_text=True)
    assert "24時間" in page and "/download" not in page.split("job-ready")[0]
    assert staff.get("/jobs/OldDoneJobAbCdEfGhIjKl/download").status_code == 302
    assert staff.get("/jobs/NewDoneJobAbCdEfGhIjKl/download").data == b"%PDF new"


def _fake_app(tmp_path, **config):
    defaults = {"JOBS_IMMEDIATE": False, "REDIS_URL": None}
    return SimpleNamespace(config={**defaults, **config}, instance_path=str(tmp_path))


def test_the_queue_is_sqlite_in_the_instance_folder_by_default(tmp_path):
    from huey import MemoryHuey, SqliteHuey

    sqlite = job_queue._make_huey(_fake_app(tmp_path))
    assert isinstance(sqlite, SqliteHuey)
    assert sqlite.storage.filename == str(tmp_path / "jobs.sqlite3")
    assert (tmp_path / "jobs.sqlite3").exists()
    immediate = job_queue._make_huey(_fake_app(tmp_path, JOBS_IMMEDIATE=True))
    assert isinstance(immediate, MemoryHuey) and immediate.immediate


def test_the_queue_is_redis_when_configured(tmp_path):
    pytest.importorskip("redis")
    from huey import RedisHuey

    url = "redis://127.0.0.1:6399/0"
    redis = job_queue._make_huey(_fake_app(tmp_path, REDIS_URL=url))
    assert isinstance(redis, RedisHuey)  # connects only when used
    assert redis.storage.conn.connection_pool.connection_kwargs["port"] == 6399
    assert not (tmp_path / "jobs.sqlite3").exists()


def test_settings_come_from_the_environment(monkeypatch):
    from crm.config import from_environment

    monkeypatch.setenv("CRM_REDIS_URL", "redis://queue.example:6379/0")
    monkeypatch.setenv("CRM_JOBS_IN_PROCESS", "0")
    values = from_environment()
    assert values["REDIS_URL"] == "redis://queue.example:6379/0"
    assert values["JOBS_IN_PROCESS"] is False
    monkeypatch.setenv("CRM_JOBS_IN_PROCESS", "yes")
    assert from_environment()["JOBS_IN_PROCESS"] is True


def test_no_worker_thread_starts_in_tests_or_commands(app):
    assert job_queue.runs_in_process(app) is False
    with app.test_request_context():
        app.preprocess_request()
    queue = app.extensions.get("crm_jobs")
    assert queue is None or queue.consumer is None
    assert not [t for t in threading.enumerate() if t.name.startswith("Worker-")]
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--help"])
    assert result.exit_code == 0 and "--workers" in result.output


@pytest.fixture
def real_queue(app, tmp_path, monkeypatch):
    """The app with a real SQLite queue in tmp_path instead of running jobs at once."""
    monkeypatch.setitem(app.config, "JOBS_IMMEDIATE", False)
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    saved = app.extensions.pop("crm_jobs", None)
    consumers = []
    yield consumers
    for consumer in consumers:
        consumer.stop(graceful=True)
    app.extensions.pop("crm_jobs", None)
    if saved is not None:
        app.extensions["crm_jobs"] = saved


def _wait_until_finished(app, job_id, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = _job(app, job_id).state
        if state in ("done", "failed"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {state} after {seconds} s")


@pytest.mark.concurrency
def test_two_consumers_print_a_job_delivered_twice_only_once(
    app, users, real_queue, gothic
):
    """Like two gunicorn workers, each with its worker thread, on one SQLite queue."""
    ids = _likers(app, 11)
    queue = job_queue.get_queue(app)
    assert queue.huey.storage.filename.startswith(app.instance_path)
    _public_id, job_id = _start(app, users["staff"], ids, record_issue=True)
    assert _job(app, job_id).state == "queued"  # waits for a worker
    queue.enqueue_print_job(job_id, "ja")  # delivered a second time
    for _ in range(2):
        consumer = queue.consumer_for(workers=1, in_process=True)
        consumer.start()
        real_queue.append(consumer)
    assert _wait_until_finished(app, job_id) == "done"
    deadline = time.monotonic() + 10
    while queue.huey.storage.queue_size() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # the second delivery has been looked at
    assert _pages(_pdf(app, job_id)) == 2
    assert _ledger_count(app) == 11  # printed and recorded once


@pytest.mark.concurrency
def test_a_web_process_starts_its_worker_thread_with_its_first_request(tmp_path):
    from crm import create_app

    app = create_app(
        {
            "SECRET_KEY": "a-production-like-secret-key-0123456789abcdef",
            "DATABASE_URL": f"sqlite:///{tmp_path}/crm.sqlite3",
        }
    )
    app.instance_path = str(tmp_path)
    from flask_migrate import upgrade

    with app.app_context():  # /healthz answers 200 only at the newest schema
        upgrade()
    assert not app.testing and job_queue.runs_in_process(app)
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--help"])
    assert result.exit_code == 0
    assert "crm_jobs" not in app.extensions  # commands start no worker
    assert app.test_client().get("/healthz").status_code == 200
    queue = app.extensions["crm_jobs"]
    try:
        assert queue.consumer is not None
        assert (tmp_path / "jobs.sqlite3").exists()
        started = queue.consumer
        app.test_client().get("/healthz")
        assert queue.consumer is started  # one per process
    finally:
        queue.consumer.stop(graceful=True)
