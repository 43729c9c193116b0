"""The ministry report against a known dataset, counted again here in plain Python."""

import csv
import io
import json
import shutil
import sqlite3
import subprocess
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.engine import make_url

from crm.audit.models import AuditEntry
from crm.documents.models import Issuance
from crm.events.models import Attendance, Guest, Theme, WalkInCount
from crm.exports.formats import csv_bytes, neutralise
from crm.extensions import db
from crm.reports.queries import compute_report
from crm.societies.models import Society, SocietyMembership
from crm.supporters.models import Category, Supporter
from tests.factories import make_event, make_supporter

PERIOD = (date(2025, 4, 1), date(2026, 3, 31))  # 令和7年度
AS_OF = date(2026, 3, 31)

# Likers: where they live, when they registered (and withdrew), their age.
LIKERS = {
    "A": dict(prefecture="北海道", municipality="夕張市", registered_on=date(2025, 5, 10),
              birth_date=date(1990, 6, 1), category="出身者"),
    "B": dict(prefecture="東京都", municipality="新宿区", registered_on=date(2025, 4, 1),
              birth_year=2000, category="ふるさと納税者"),
    "C": dict(prefecture="北海道", municipality="札幌市", registered_on=date(2024, 12, 1),
              withdrawn_on=date(2025, 8, 1), birth_date=date(1960, 4, 1),
              category="出身者"),
    "D": dict(country="アメリカ", registered_on=date(2026, 2, 1), category="ふるさと納税者"),
    "E": dict(prefecture="東京都", municipality="港区", registered_on=date(2026, 4, 5),
              category="出身者"),
    "F": dict(prefecture="大阪府", municipality="大阪市", registered_on=date(2023, 1, 1),
              withdrawn_on=date(2024, 1, 1), category="ふるさと納税者"),
}  # fmt: skip
RESIDENCE = {"A": "in_town", "B": "outside_prefecture", "C": "in_prefecture",
             "D": "overseas", "E": "outside_prefecture", "F": "outside_prefecture"}  # fmt: skip
# Prints: (Liker, kind, when, in Japan time).
ISSUES = [
    ("A", "card", datetime(2025, 6, 1, 10, 0)),
    ("A", "certificate", datetime(2026, 3, 31, 23, 30)),  # the last evening counts
    ("B", "card", datetime(2026, 4, 1, 0, 5)),  # after the as-of date
    ("C", "card", datetime(2025, 5, 1, 9, 0)),  # withdrawn by the as-of date
]
# Events: theme, status, days; per day the Likers, walk-ins and guests (not Likers).
EVENTS = {
    "E1": dict(theme="T1", status="held", days={
        date(2025, 7, 1): dict(likers=["A", "B"], walk_ins={"citizen": 10, "visitor": 3},
                               guests=["citizen"], converted_guests=["visitor"]),
    }),
    "E2": dict(theme="T2", status="held", days={
        date(2025, 9, 1): dict(likers=["B"], walk_ins={"visitor": 5}),
        date(2025, 9, 2): dict(likers=["B", "D"]),
    }),
    "E3": dict(theme="T1", status="held", days={  # before the period
        date(2025, 3, 15): dict(likers=["A", "C"], walk_ins={"citizen": 4}),
    }),
    "E4": dict(theme="T2", status="cancelled", days={
        date(2025, 10, 1): dict(likers=["B"], walk_ins={"citizen": 7}),
    }),
    "E5": dict(theme="T1", status="planned", days={  # after the period
        date(2026, 5, 1): dict(likers=["A"], walk_ins={"citizen": 2}),
    }),
}  # fmt: skip
SOCIETY_MEMBERS = {"東京夕張会": ["A", "B", "C", "E"], "札幌ゆうばり会": ["D", "F"]}
OUTSIDE = {"in_prefecture", "outside_prefecture", "overseas"}
NINE_HOURS = timedelta(hours=9)  # Japan time to the UTC the database keeps


def _registered(name):
    liker = LIKERS[name]
    withdrawn = liker.get("withdrawn_on")
    return liker["registered_on"] <= AS_OF and not (withdrawn and withdrawn <= AS_OF)


def _in_period(day):
    return PERIOD[0] <= day <= min(PERIOD[1], AS_OF)


def _expected_events(selected):
    """The event figures over these events, counted from the lists above."""
    counting = {k: e for k, e in selected.items() if e["status"] != "cancelled"}
    days = [
        (d, v) for e in counting.values() for d, v in e["days"].items() if _in_period(d)
    ]
    attendance = [name for _d, v in days for name in v.get("likers", [])]
    first_ever = {}
    for event in EVENTS.values():
        for day, values in event["days"].items():
            for name in values.get("likers", []):
                first_ever[name] = min(first_ever.get(name, day), day)
    citizens = sum(v.get("walk_ins", {}).get("citizen", 0) + v.get("guests", []).count("citizen")
                   for _d, v in days)  # fmt: skip
    visitors = sum(v.get("walk_ins", {}).get("visitor", 0) + v.get("guests", []).count("visitor")
                   for _d, v in days)  # fmt: skip
    return {
        "count": len({k for k, e in counting.items() if any(_in_period(d) for d in e["days"])}),
        "days": len(days),
        "participations_likers": len(attendance),
        "participations_citizens": citizens,
        "participations_visitors": visitors,
        "participations_total": len(attendance) + citizens + visitors,
        "unique_likers": len(set(attendance)),
        "participations_likers_outside": sum(RESIDENCE[n] in OUTSIDE for n in attendance),
        "unique_likers_outside": len({n for n in attendance if RESIDENCE[n] in OUTSIDE}),
        "first_time_likers": len({n for n in attendance if _in_period(first_ever[n])}),
    }  # fmt: skip


@pytest.fixture
def dataset(app):
    with app.test_request_context():
        categories = {c.name: c.id for c in db.session.scalars(select(Category))}
        ids = {}
        for name, values in LIKERS.items():
            values = dict(values)
            withdrawn_on = values.pop("withdrawn_on", None)
            category = values.pop("category", None)
            supporter = make_supporter(
                family_name=f"登録{name}",
                category_ids=[categories[category]] if category else [],
                **values,
            )
            if withdrawn_on:
                supporter.status, supporter.withdrawn_on = "withdrawn", withdrawn_on
            assert supporter.residence == RESIDENCE[name]
            ids[name] = supporter.id
        for name, kind, when in ISSUES:
            db.session.add(
                Issuance(supporter_id=ids[name], kind=kind, issued_at=when - NINE_HOURS)
            )
        themes = {}
        for key in ("T1", "T2"):
            theme = Theme(name=f"テーマ{key}")
            db.session.add(theme)
            db.session.flush()
            themes[key] = theme.id
        for key, spec in EVENTS.items():
            event = make_event(
                title=f"イベント{key}", days=len(spec["days"]),
                first_day=min(spec["days"]), theme_id=themes[spec["theme"]],
            )  # fmt: skip
            event.status = spec["status"]
            by_day = {d.day: d for d in event.days}
            for day, values in spec["days"].items():
                day_id = by_day[day].id
                for name in values.get("likers", []):
                    db.session.add(
                        Attendance(event_day_id=day_id, supporter_id=ids[name])
                    )
                for group, count in values.get("walk_ins", {}).items():
                    db.session.add(
                        WalkInCount(event_day_id=day_id, group=group, count=count)
                    )
                for group in values.get("guests", []):
                    db.session.add(
                        Guest(event_day_id=day_id, group=group, name="来場者")
                    )
                for group in values.get("converted_guests", []):
                    db.session.add(Guest(event_day_id=day_id, group=group, name="入会者",
                                         supporter_id=ids["D"]))  # fmt: skip
        for society_name, members in SOCIETY_MEMBERS.items():
            society = Society(name=society_name)
            db.session.add(society)
            db.session.flush()
            for name in members:
                db.session.add(
                    SocietyMembership(society_id=society.id, supporter_id=ids[name])
                )
        db.session.commit()
    return ids


def test_every_figure_matches_the_dataset_counted_independently(app, dataset):
    with app.app_context():
        report = compute_report(*PERIOD, AS_OF).as_dict()
    likers = report["likers"]
    registered = [n for n in LIKERS if _registered(n)]
    assert likers["registered"] == len(registered)
    assert likers["new_in_period"] == sum(
        PERIOD[0] <= v["registered_on"] <= PERIOD[1] for v in LIKERS.values()
    )
    assert likers["withdrawn_in_period"] == sum(
        bool(v.get("withdrawn_on")) and PERIOD[0] <= v["withdrawn_on"] <= PERIOD[1]
        for v in LIKERS.values()
    )
    for kind in ("card", "certificate"):
        issued = {n for n, k, when in ISSUES if k == kind and when.date() <= AS_OF}
        assert likers[f"{kind}_issued"] == len(issued & set(registered)), kind
    by_residence = {r["residence"]: r["count"] for r in likers["by_residence"]}
    for residence in set(RESIDENCE.values()):
        expected = sum(RESIDENCE[n] == residence for n in registered)
        assert by_residence[residence] == expected, residence
    bands = {r["band"]: r["count"] for r in likers["by_age_band"]}
    assert (
        bands["30代"] == 1 and bands["20代"] == 1 and bands["不明"] == 1
    )  # A 35, B 26, D
    months = {r["month"]: r["count"] for r in likers["by_month"]}
    assert len(months) == 12 and sum(months.values()) == likers["new_in_period"]
    assert months["2025-05"] == 1 and months["2026-02"] == 1
    categories = {r["category"]: r["count"] for r in likers["by_category"]}
    for category in ("出身者", "ふるさと納税者"):  # C, E and F are linked, not counted
        expected = sum(
            _registered(n) for n, v in LIKERS.items() if v.get("category") == category
        )
        assert categories[category] == expected, category
    assert categories["出身者"] == 1 and categories["ふるさと納税者"] == 2

    assert report["events"] == _expected_events(EVENTS)
    by_theme = {t["theme"]: t for t in report["by_theme"]}
    for key in ("T1", "T2"):
        selected = {k: e for k, e in EVENTS.items() if e["theme"] == key}
        figures = {k: v for k, v in by_theme[f"テーマ{key}"].items() if k != "theme"}
        assert figures == _expected_events(selected), key
    by_event = {e["title"]: e for e in report["by_event"]}
    assert set(by_event) == {"イベントE1", "イベントE2"}
    e2 = {k: v for k, v in by_event["イベントE2"].items()
          if k not in ("title", "theme", "event_id", "first_day")}  # fmt: skip
    assert e2 == _expected_events({"E2": EVENTS["E2"]})

    societies = {s["society"]: s for s in report["societies"]}
    for society_name, members in SOCIETY_MEMBERS.items():
        assert societies[society_name]["members"] == sum(
            _registered(n) for n in members
        )
        expected = sum(
            name in members
            for e in EVENTS.values() if e["status"] != "cancelled"
            for d, v in e["days"].items() if _in_period(d)
            for name in v.get("likers", [])
        )  # fmt: skip
        assert societies[society_name]["participations"] == expected


def test_the_parts_share_one_snapshot_unless_the_transaction_wrote(
    app, dataset, monkeypatch
):
    from crm.reports import queries

    parts = []
    in_snapshot = queries._in_snapshot
    monkeypatch.setattr(
        queries, "_in_snapshot",
        lambda app_, snapshot, part, period: parts.append(part.__name__)
        or in_snapshot(app_, snapshot, part, period),
    )  # fmt: skip
    with app.test_request_context("/reports/"):  # as the report page: it only reads
        at_once = compute_report(*PERIOD, AS_OF).as_dict()
        assert sorted(parts) == ["_event_part", "_likers_and_societies"]
        db.session.rollback()
    with app.app_context():  # a transaction with a new Liker, not yet committed
        parts.clear()
        make_supporter(registered_on=date(2025, 6, 1))
        in_turn = compute_report(*PERIOD, AS_OF).as_dict()
        assert parts == []
        db.session.rollback()
    # The same figures either way, and the transaction's own Liker is counted.
    assert in_turn["likers"]["registered"] == at_once["likers"]["registered"] + 1
    assert in_turn["events"] == at_once["events"]
    assert in_turn["by_event"] == at_once["by_event"]
    assert in_turn["societies"] == at_once["societies"]


def test_check_ins_saved_while_the_report_counts_fall_in_both_parts_or_neither(
    app, dataset
):
    """The Likers' and the events' figures are counted on two connections at once:
    each check-in saved meanwhile (a new Liker registered at the desk and checked
    in) is in both or in neither, never in one of them."""
    import threading

    from crm.events.models import EventDay

    with app.app_context():
        day = db.session.scalar(
            select(EventDay).where(EventDay.day == date(2025, 7, 1))
        )  # E1, in the period
        day_id = day.id
        db.session.remove()
    stop = threading.Event()
    saved = []

    def desk():
        with app.app_context():
            while not stop.is_set():
                liker = make_supporter(registered_on=date(2025, 7, 1))
                db.session.add(Attendance(event_day_id=day_id, supporter_id=liker.id))
                db.session.commit()
                saved.append(liker.id)
            db.session.remove()

    writer = threading.Thread(target=desk)
    writer.start()
    try:
        reports = []
        while len(reports) < 15 or len(saved) < 5:
            with app.test_request_context("/reports/"):
                reports.append(compute_report(*PERIOD, AS_OF).as_dict())
                db.session.rollback()
            assert len(reports) < 200, "the desk saved nothing meanwhile"
    finally:
        stop.set()
        writer.join()
    first = reports[0]
    for report in reports:
        new_likers = (
            report["likers"]["new_in_period"] - first["likers"]["new_in_period"]
        )
        new_check_ins = (
            report["events"]["participations_likers"]
            - first["events"]["participations_likers"]
        )
        assert new_likers == new_check_ins
    assert reports[-1]["likers"]["new_in_period"] > first["likers"]["new_in_period"]


def test_the_as_of_date_moves_registrations_and_cuts_events(app, dataset):
    with app.app_context():
        earlier = compute_report(*PERIOD, date(2025, 8, 15)).as_dict()
    # By mid-August: A, B and C registered (C withdraws on 1 August: not any more).
    assert earlier["likers"]["registered"] == 2
    assert earlier["events"]["count"] == 1  # E1 only; E2 is in September


def test_the_command_line_writes_json_with_the_documented_keys(app, dataset, tmp_path):
    result = app.test_cli_runner().invoke(
        args=["report", "ministry", "--from", "令和7年4月1日", "--to", "2026-03-31",
              "--as-of", "2026-03-31", "--format", "json"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["as_of"] == "2026-03-31" and data["period"]["from"] == "2025-04-01"
    for key in ("registered", "card_issued", "certificate_issued", "new_in_period"):
        assert key in data["likers"]
    assert data["events"] == _expected_events(EVENTS)
    assert {"theme", "participations_likers_outside"} <= set(data["by_theme"][0])
    fiscal = app.test_cli_runner().invoke(
        args=["report", "ministry", "--fiscal-year", "2025", "--as-of", "2026-03-31"]
    )
    assert json.loads(fiscal.stdout)["events"] == data["events"]


def test_the_command_line_report_lets_desks_write_meanwhile(app, dataset, monkeypatch):
    """On SQLite, counting takes no write lock: check-ins go on during a report."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    from crm.reports import queries

    real, seen = queries.compute_report, []

    def probing(*args, **kwargs):
        report = real(*args, **kwargs)  # the lock, if any, is held by now
        other = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError:
            seen.append("locked")
        finally:
            other.close()
        return report

    monkeypatch.setattr(queries, "compute_report", probing)
    result = app.test_cli_runner().invoke(args=["report", "ministry"])
    assert result.exit_code == 0, result.output
    assert seen == ["free"]


def test_the_workbook_has_a_sheet_per_breakdown_laid_out_for_a4(
    app, dataset, signed_in
):
    viewer = signed_in("viewer")
    response = viewer.get("/reports/download?fy=2025&as_of=2026-03-31&format=xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[:3] == ["概要", "居住地", "関係区分"]
    summary = workbook["概要"]
    assert "令和7年4月1日〜令和8年3月31日" in summary["A2"].value
    values = {row[0]: row[1] for row in summary.iter_rows(min_row=4, values_only=True)}
    assert (
        values["参加者数（延べ）"] == _expected_events(EVENTS)["participations_total"]
    )
    assert int(summary.page_setup.paperSize) == int(summary.PAPERSIZE_A4)
    assert summary.sheet_properties.pageSetUpPr.fitToPage
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.object_type == "report")
        )
        assert entry.action == "export" and entry.details["format"] == "xlsx"


def test_the_report_page_shows_the_figures_and_charts(app, dataset, signed_in):
    page = signed_in("viewer").get("/reports/?fy=2025&as_of=令和8年3月31日")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "令和7年4月1日〜令和8年3月31日" in html
    assert html.count("<svg") == 3
    assert "イベントE1" in html and "イベントE3" not in html
    bad = signed_in("viewer").get("/reports/?from=2025-13-01&to=2026-03-31")
    assert "「2025-13-01」は日付として読めません。" in bad.get_data(as_text=True)


def test_a_cp932_csv_names_what_it_cannot_hold_and_round_trips(app, dataset, signed_in):
    with app.app_context():
        theme = db.session.scalar(select(Theme).where(Theme.name == "テーマT1"))
        theme.name = "𠮷野の髙﨑①"
        db.session.commit()
    viewer = signed_in("viewer")
    warning = viewer.get("/reports/download?fy=2025&as_of=2026-03-31&format=csv-cp932")
    text = warning.get_data(as_text=True)
    assert warning.mimetype == "text/html" and "𠮷" in text
    response = viewer.get(
        "/reports/download?fy=2025&as_of=2026-03-31&format=csv-cp932&replace=y"
    )
    rows = list(csv.reader(io.StringIO(response.data.decode("cp932"))))
    assert any("〓野の髙﨑①" in cell for row in rows for cell in row)
    utf8 = viewer.get("/reports/download?fy=2025&as_of=2026-03-31&format=csv")
    assert utf8.data.startswith(b"\xef\xbb\xbf")
    assert "𠮷野の髙﨑①" in utf8.data.decode("utf-8-sig")


def test_formula_injection_is_neutralised_in_csv_and_excel(app, dataset, signed_in):
    assert neutralise("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)" and neutralise(-3) == -3
    data, _problems = csv_bytes(["名前"], [["=1+1"], ["+81 90"], ["\tx"], ["普通"]])
    cells = [row[0] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))]
    assert cells == ["名前", "'=1+1", "'+81 90", "'\tx", "普通"]
    with app.app_context():
        theme = db.session.scalar(select(Theme).where(Theme.name == "テーマT2"))
        theme.name = "=cmd|'/c calc'!A1"
        db.session.commit()
    response = signed_in("viewer").get("/reports/download?fy=2025&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data))["テーマ別"]
    names = [row[0] for row in sheet.iter_rows(values_only=True) if row[0]]
    assert "'=cmd|'/c calc'!A1" in names


def test_the_workbook_converts_to_a_printable_pdf(app, dataset, signed_in, tmp_path):
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice is not installed (a check for people, not for CI)")
    response = signed_in("viewer").get("/reports/download?fy=2025&format=xlsx")
    (tmp_path / "report.xlsx").write_bytes(response.data)
    subprocess.run(
        [office, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
         str(tmp_path / "report.xlsx")], check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert (tmp_path / "report.pdf").stat().st_size > 1000


def test_a_record_merged_into_another_is_not_counted_twice(app, dataset):
    with app.app_context():
        before = compute_report(*PERIOD, AS_OF).as_dict()["likers"]
        merged = db.session.get(Supporter, dataset["B"])
        merged.status, merged.merged_into_id = "merged", dataset["A"]
        db.session.commit()
        after = compute_report(*PERIOD, AS_OF).as_dict()["likers"]
    assert after["registered"] == before["registered"] - 1
    assert after["new_in_period"] == before["new_in_period"] - 1
    assert sum(r["count"] for r in after["by_residence"]) == after["registered"]
    # B's category and society link stays on the merged record: not counted.
    categories = {r["category"]: r["count"] for r in after["by_category"]}
    assert categories["ふるさと納税者"] == 1  # D; B is merged, F withdrawn
    with app.app_context():
        societies = {
            s["society"]: s["members"]
            for s in compute_report(*PERIOD, AS_OF).as_dict()["societies"]
        }
    assert societies["東京夕張会"] == 1  # A; B merged, C withdrawn, E registered later


def test_a_pending_public_registration_is_not_counted_anywhere(app, dataset):
    """A registration from the public form waits for review: not yet a Liker."""
    with app.app_context():
        before = compute_report(*PERIOD, AS_OF).as_dict()
        categories = {c.name: c.id for c in db.session.scalars(select(Category))}
        pending = make_supporter(
            registered_on=date(2025, 6, 1), category_ids=[categories["出身者"]]
        )
        pending.status = "pending"
        society = db.session.scalar(select(Society).where(Society.name == "東京夕張会"))
        db.session.add(
            SocietyMembership(society_id=society.id, supporter_id=pending.id)
        )
        db.session.commit()
        after = compute_report(*PERIOD, AS_OF).as_dict()
    assert after["likers"] == before["likers"]
    assert after["societies"] == before["societies"]


def test_each_likers_first_day_follows_every_way_attendance_is_written(app):
    """The report's "first time" and "card issued" read days the database keeps:
    check-in, undo, rows added directly, a merge moving rows, an event deleted."""
    from crm.events.models import Event
    from crm.events.services import check_in, undo_check_in
    from crm.supporters.merge import merge_supporters

    with app.app_context():
        a, b = make_supporter(), make_supporter()
        early, late = (
            make_event(first_day=date(2025, 5, 1)),
            make_event(first_day=date(2025, 9, 1)),
        )
        middle = make_event(first_day=date(2025, 7, 1))

        def first(supporter):
            db.session.flush()
            return db.session.scalar(
                select(Supporter.first_participated_on).where(
                    Supporter.id == supporter.id
                )
            )

        def issued(supporter):
            db.session.flush()
            return tuple(
                db.session.execute(
                    select(
                        Supporter.card_issued_at, Supporter.certificate_issued_at
                    ).where(Supporter.id == supporter.id)
                ).one()
            )

        assert first(a) is None
        check_in(late.days[0], a)
        assert first(a) == date(2025, 9, 1)
        mistaken = check_in(early.days[0], a).attendance
        assert first(a) == date(2025, 5, 1)
        undo_check_in(mistaken)
        assert first(a) == date(2025, 9, 1)
        db.session.add(Attendance(event_day_id=middle.days[0].id, supporter_id=b.id))
        assert first(b) == date(2025, 7, 1)
        printed = datetime(2025, 7, 1, 3, 0)
        db.session.add_all([
            Issuance(supporter_id=b.id, kind="card", issued_at=printed),
            Issuance(supporter_id=b.id, kind="card", issued_at=printed + timedelta(days=9)),
            Issuance(supporter_id=a.id, kind="certificate", issued_at=printed),
        ])  # fmt: skip
        assert issued(b) == (printed, None) and issued(a) == (None, printed)
        merge_supporters(a, b, {})
        assert first(a) == date(2025, 7, 1) and first(b) is None
        assert issued(a) == (printed, printed) and issued(b) == (None, None)
        db.session.delete(db.session.get(Event, middle.id))
        assert first(a) == date(2025, 9, 1)
        db.session.commit()
