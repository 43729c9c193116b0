"""The person's rights (F07–F09, T19): a disclosure package that covers every table
that refers to a Liker, corrections with old and new values, stopping use, and an
erasure that leaves no personal data behind and every past report figure as it was."""

import json
import subprocess
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import String, Text, select

from crm.audit.models import AuditEntry
from crm.documents.models import Issuance
from crm.events.models import Attendance, Guest
from crm.events.queries import find_by_code
from crm.extensions import db
from crm.registration.models import Registration
from crm.reports.queries import compute_report
from crm.rights.models import Correction
from crm.rights.package import REFERENCES, disclosure_package
from crm.rights.services import RightsError, coarse_birth, erase, resume_use, stop_use
from crm.societies.models import Society, SocietyMembership
from crm.supporters.merge import merge_supporters
from crm.supporters.models import Category, Channel, Supporter, Tag
from crm.supporters.queries import SupporterFilter, select_supporters
from crm.supporters.services import update_supporter
from crm.timeutil import today_jst
from tests.factories import make_event, make_supporter, supporter_data

TODAY = today_jst()


# --- which tables refer to a Liker --------------------------------------------


def references_to_supporters(metadata) -> set[tuple[str, str]]:
    """Every (table, column) whose foreign key leads to a Liker: straight to
    supporters, or to a table that does (e.g. a table pointing at attendances)."""
    owned, found = {"supporters"}, set()
    while True:
        more = {
            (table.name, fk.parent.name)
            for table in metadata.sorted_tables
            for fk in table.foreign_keys
            if fk.column.table.name in owned
        }
        if more <= found:
            return found
        found |= more
        owned |= {name for name, _column in more}


def test_the_package_covers_every_table_that_refers_to_a_liker(app):
    """A new table pointing at supporters (or at attendances …) fails here until
    crm.rights.package.REFERENCES says how the package and erasure treat it."""
    assert references_to_supporters(db.metadata) == set(REFERENCES)


def test_the_schema_walk_finds_a_new_table_pointing_at_attendances(app):
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

    copy = MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(copy)
    Table("feedback", copy, Column("id", Integer, primary_key=True),
          Column("attendance_id", ForeignKey("attendances.id")))  # fmt: skip
    assert ("feedback", "attendance_id") in references_to_supporters(copy) - set(
        REFERENCES
    )


# --- a Liker linked everywhere --------------------------------------------------


@pytest.fixture
def linked(app, users):
    """A Liker with a row in every table that refers to Likers; returns ids."""
    with app.test_request_context():
        from crm.auth.models import User

        staff = db.session.get(User, users["staff"])
        category = db.session.scalar(select(Category).order_by(Category.position))
        person = make_supporter(
            family_name="𠮷田", given_name="髙﨑子", family_name_kana="ヨシダ",
            given_name_kana="タカサキコ", email="yoshida@example.jp",
            phone="090-5555-0101", address="本町1-1", notes="来年移住を検討",
            birth_date=date(1990, 7, 20), category_ids=[category.id],
            tag_names=["写真展"], news_opt_in=True, registered_on=date(2024, 5, 1),
        )  # fmt: skip
        update_supporter(
            person,
            supporter_data(
                family_name="𠮷田", given_name="髙﨑子", family_name_kana="ヨシダ",
                given_name_kana="タカサキコ", email="new@example.jp",
                phone="090-5555-0101", address="本町1-1", notes="来年移住を検討",
                birth_date=date(1990, 7, 20), category_ids=[category.id],
                tag_names=["写真展"], news_opt_in=True, registered_on=date(2024, 5, 1),
            ),
            staff,
        )  # fmt: skip
        event = make_event(first_day=TODAY - timedelta(days=30))
        day = event.days[0]
        db.session.add(Attendance(event_day_id=day.id, supporter_id=person.id))
        db.session.add(Guest(event_day_id=day.id, name="𠮷田さん", contact="電話あり",
                             supporter_id=person.id))  # fmt: skip
        db.session.add(Issuance(supporter_id=person.id, kind="card"))
        society = Society(name="東京夕張会")
        db.session.add(society)
        db.session.flush()
        db.session.add(SocietyMembership(society_id=society.id, supporter_id=person.id))
        db.session.add(Registration(supporter_id=person.id, submission_key="k" * 40,
                                    identity_key="i" * 64, outcome="approved"))  # fmt: skip
        twin = make_supporter(family_name="吉田", email="twin@example.jp")
        merge_supporters(person, twin, {}, staff)
        friend = make_supporter(family_name="友人")
        friend.introduced_by_id = person.id
        db.session.commit()
        return {"person": person.id, "twin": twin.id, "friend": friend.id,
                "number": person.registration_number, "token": person.public_token}  # fmt: skip


def test_the_package_holds_every_section_of_a_liker_linked_everywhere(app, linked):
    with app.test_request_context():
        package = disclosure_package(db.session.get(Supporter, linked["person"]))
    assert package["profile"]["family_name"] == "𠮷田"
    assert package["profile"]["email"] == "new@example.jp"
    for section, _erasure in REFERENCES.values():
        assert package[section], f"{section} is empty"
    assert package["introduced"] == {"count": 1}
    assert package["merged_records"][0]["email"] == "twin@example.jp"
    email = [c for c in package["corrections"] if c["field"] == "email"]
    assert email[0]["old_value"] == "yoshida@example.jp"
    assert email[0]["new_value"] == "new@example.jp"
    assert {"create", "update", "merge"} <= {a["action"] for a in package["audit"]}
    assert {c["kind"] for c in package["consents"]} >= {"privacy_notice", "news"}
    json.dumps(package)  # plain JSON all the way down


def test_an_administrator_downloads_the_package_as_json_and_it_is_audited(
    app, linked, signed_in
):
    url = f"/likers/{linked['person']}/disclosure.json"
    admin = signed_in("admin")
    response = admin.post_form(url, token_from=f"/likers/{linked['person']}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert linked["number"] in response.headers["Content-Disposition"]
    package = json.loads(response.get_data(as_text=True))
    assert package["profile"]["given_name"] == "髙﨑子"
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "disclose")
        ).one()
        assert entry.object_id == linked["person"]
        assert entry.details == {"format": "json"}
    staff = signed_in("staff")
    assert (
        staff.post_form(url, token_from=f"/likers/{linked['person']}").status_code
        == 403
    )


def test_the_pdf_is_a4_in_japanese_with_rare_kanji_and_embedded_fonts(
    app, linked, signed_in, gothic, tmp_path
):
    admin = signed_in("admin")
    response = admin.post_form(
        f"/likers/{linked['person']}/disclosure.pdf",
        token_from=f"/likers/{linked['person']}",
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "package.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    for expected in ("保有個人情報の開示", "𠮷田", "髙﨑子", linked["number"],
                     "訂正の記録", "yoshida@example.jp", "new@example.jp", "東京夕張会"):  # fmt: skip
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout  # fmt: skip
    assert all(" yes " in line for line in fonts.splitlines()[2:])
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert "595.276 x 841.89 pts (A4)" in info


# --- corrections ------------------------------------------------------------------


def test_an_edit_records_old_and_new_values_with_who_and_when(app, signed_in, users):
    with app.test_request_context():
        person = make_supporter(email="old@example.jp", phone="011-000-0000")
        db.session.commit()
        person_id = person.id
    staff = signed_in("staff")
    page = staff.get(f"/likers/{person_id}/edit").get_data(as_text=True)
    assert "old@example.jp" in page
    form = {
        "family_name": "夕張", "given_name": "花子", "family_name_kana": "ユウバリ",
        "given_name_kana": "ハナコ", "prefecture": "北海道", "municipality": "夕張市",
        "email": "new@example.jp", "phone": "011-000-0000", "channel_id": "0",
        "registered_on": TODAY.isoformat(),
    }  # fmt: skip
    response = staff.post_form(f"/likers/{person_id}/edit", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        rows = db.session.scalars(select(Correction)).all()
        assert [(r.field, r.old_value, r.new_value) for r in rows] == [
            ("email", "old@example.jp", "new@example.jp")
        ]
        assert rows[0].corrected_by_id == users["staff"]
        assert rows[0].corrected_at is not None
    html = staff.get(f"/likers/{person_id}").get_data(as_text=True)
    history = html[html.index('id="corrections"') :]
    assert "old@example.jp" in history and "new@example.jp" in history


# --- stopping use -----------------------------------------------------------------


def test_a_stopped_liker_is_in_no_list_search_export_print_or_public_page(
    app, signed_in
):
    with app.test_request_context():
        person = make_supporter(family_name="停止", family_name_kana="テイシ")
        other = make_supporter(family_name="継続", family_name_kana="ケイゾク")
        society = Society(name="東京夕張会")
        db.session.add(society)
        db.session.flush()
        for member in (person, other):
            db.session.add(
                SocietyMembership(society_id=society.id, supporter_id=member.id)
            )
        db.session.commit()
        society_id = society.id
        ids = (person.id, person.registration_number, person.public_token)
        other_number = other.registration_number
    person_id, number, token = ids
    staff = signed_in("staff")
    response = staff.post_form(f"/likers/{person_id}/stop-use",
                               token_from=f"/likers/{person_id}")  # fmt: skip
    assert response.status_code == 302
    staff.get(response.headers["Location"])  # the flash names the number

    for query in ("", "?q=テイシ", "?status=all", "?status=withdrawn", f"?q={number}"):
        html = staff.get(f"/likers/{query}").get_data(as_text=True)
        assert f'href="/likers/{person_id}"' not in html, query
    listed = staff.get("/likers/").get_data(as_text=True)
    assert other_number in listed and 'href="/likers/stopped"' in listed
    members = staff.get(f"/societies/{society_id}").get_data(as_text=True)
    assert number not in members and other_number in members
    exported = staff.post_form(
        "/exports/likers", {"query": "status=all", "format": "csv", "columns": ["number"]},
        token_from="/exports/likers",
    ).get_data(as_text=True)  # fmt: skip
    assert number not in exported and other_number in exported
    anonymous = app.test_client()
    assert anonymous.get(f"/v/{token}").status_code == 404
    with app.test_request_context():
        printed = select_supporters(SupporterFilter(status="active"), 100)
        assert person_id not in [s.id for s in printed]
        assert find_by_code(number).supporter is None  # the desk finds nobody
    html = staff.get(f"/likers/{person_id}").get_data(as_text=True)
    assert 'id="use-stopped"' in html and 'id="resume-use"' in html
    assert number in staff.get("/likers/stopped").get_data(as_text=True)

    staff.post_form(
        f"/likers/{person_id}/resume-use", token_from=f"/likers/{person_id}"
    )
    assert number in staff.get("/likers/").get_data(as_text=True)
    assert anonymous.get(f"/v/{token}").status_code == 200
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == person_id)
        ).all()
        assert "stop_use" in actions and "resume_use" in actions
    viewer = signed_in("viewer")
    assert viewer.post_form(f"/likers/{person_id}/stop-use",
                            token_from=f"/likers/{person_id}").status_code == 403  # fmt: skip


def test_the_stopped_list_shows_a_page_at_a_time_newest_first(app, signed_in):
    app.config["PAGE_SIZE"] = 3
    with app.test_request_context():
        numbers = []
        for day in range(5):
            person = make_supporter()
            stop_use(person)
            person.use_stopped_at = datetime(2026, 11, 1 + day, 9, 0)
            numbers.append(person.registration_number)
        db.session.commit()
    staff = signed_in("staff")
    first = staff.get("/likers/stopped").get_data(as_text=True)
    second = staff.get("/likers/stopped?page=2").get_data(as_text=True)
    newest_first = numbers[::-1]
    assert [n in first for n in newest_first] == [True] * 3 + [False] * 2
    assert first.index(newest_first[0]) < first.index(newest_first[1])
    assert [n in second for n in newest_first] == [False] * 3 + [True] * 2
    assert "5 件" in first and 'href="/likers/stopped?page=2"' in first
    beyond = staff.get("/likers/stopped?page=9")
    assert beyond.status_code == 200 and numbers[0] not in beyond.get_data(as_text=True)


def test_a_withdrawn_liker_stays_stopped_and_resumes_as_withdrawn(ctx):
    person = make_supporter()
    person.status, person.withdrawn_on = "withdrawn", TODAY
    stop_use(person)
    from crm.supporters.services import reinstate_supporter

    reinstate_supporter(person)  # the old "undo withdrawal" must not resume use
    assert person.status == "stopped"
    person.withdrawn_on = TODAY
    resume_use(person)
    assert person.status == "withdrawn"
    with pytest.raises(RightsError):
        resume_use(person)


# --- erasure ------------------------------------------------------------------------


def test_the_birth_is_kept_only_as_precisely_as_the_age_bands_need():
    first, last = date(2024, 4, 1), date(2026, 3, 31)
    # No 20th, 30th … birthday between: the year is enough.
    assert coarse_birth(date(1990, 7, 20), 1990, first, last) == (None, 1990)
    # The 40th birthday falls in between: the year alone would move the band.
    assert coarse_birth(date(1985, 3, 20), 1985, first, last)[0] is not None
    # Never counted (withdrawn on the day of registering): nothing is kept.
    assert coarse_birth(date(1985, 7, 20), 1985, first, first - timedelta(1)) == (
        None,
        None,
    )


CANARIES = ("𠮷田", "髙﨑子", "ヨシダ", "タカサキコ", "yoshida@example.jp",
            "new@example.jp", "twin@example.jp", "090-5555-0101", "09055550101",
            "本町1-1", "来年移住を検討", "𠮷田さん", "電話あり", "吉田")  # fmt: skip


def _all_text() -> str:
    """Every string in every table, for looking for personal data left behind."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
        if columns:
            for row in db.session.execute(select(*columns)):
                found += [v for v in row if v]
        for row in db.session.execute(select(table)).mappings():
            found += [json.dumps(v, ensure_ascii=False) for v in row.values()
                      if isinstance(v, (dict, list))]  # fmt: skip
    return "\n".join(found)


def test_erasure_leaves_no_personal_data_in_any_table(app, linked, signed_in):
    with app.app_context():
        before = _all_text()
        assert all(canary in before for canary in CANARIES)
    admin = signed_in("admin")
    url = f"/likers/{linked['person']}/erase"
    page = admin.post_form(url, {"registration_number": "YL-99999"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="YL-99999"' in html and "invalid-feedback" in html  # kept, refused
    with app.app_context():
        assert db.session.get(Supporter, linked["person"]).status == "active"
    response = admin.post_form(url, {"registration_number": linked["number"].lower()})
    assert response.status_code == 302
    with app.app_context():
        left = _all_text()
        for canary in CANARIES:
            assert canary not in left, canary
        person = db.session.get(Supporter, linked["person"])
        assert person.status == "erased" and person.erased_at is not None
        assert person.public_token != linked["token"]
        assert person.birth_date is None and person.birth_year == 1990
        assert person.withdrawn_on == TODAY
        assert db.session.scalars(select(Tag)).all()  # the tag stays, unlinked
        assert not person.tags
        corrections = db.session.scalars(select(Correction)).all()
        assert corrections and all(c.values_erased for c in corrections)
        assert all(c.old_value is None and c.new_value is None for c in corrections)
        registration = db.session.scalars(select(Registration)).one()
        assert registration.identity_key != "i" * 64
        # What the report counts stays.
        assert db.session.scalars(select(Attendance)).all()
        assert db.session.scalars(select(Issuance)).all()
        assert db.session.scalars(select(SocietyMembership)).all()
        assert person.categories and person.prefecture == "北海道"
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "erase")
        ).one()
        assert entry.details == {"merged_records": [linked["twin"]]}
    assert app.test_client().get(f"/v/{linked['token']}").status_code == 404
    html = admin.get(f"/likers/{linked['person']}").get_data(as_text=True)
    assert 'id="erased"' in html and 'id="erase"' not in html
    edit = admin.get(f"/likers/{linked['person']}/edit")
    assert edit.status_code == 302  # nothing personal can be written back
    staff = signed_in("staff")
    assert staff.get(url).status_code == 403


def _report(start: date, end: date, as_of: date) -> str:
    return json.dumps(compute_report(start, end, as_of).as_dict(), sort_keys=True,
                      ensure_ascii=False, default=str)  # fmt: skip


def test_erasing_likers_keeps_every_past_report_figure(app):
    """The full report JSON for periods and as-of dates before today is the same
    before and after erasing; as of today it equals the report had they only
    withdrawn today."""
    with app.test_request_context():
        categories = list(db.session.scalars(select(Category)))
        channels = list(db.session.scalars(select(Channel)))
        # A 30th birthday 300 days ago, registered 800 days ago: the band changes
        # inside the days they count.
        birthday = TODAY - timedelta(days=300)
        if (birthday.month, birthday.day) == (2, 29):
            birthday -= timedelta(days=1)
        boundary = birthday.replace(year=birthday.year - 30)
        specs = [
            dict(prefecture="東京都", municipality="新宿区", birth_date=boundary,
                 registered_on=TODAY - timedelta(days=800)),
            dict(prefecture="北海道", municipality="夕張市", birth_date=date(1975, 6, 15),
                 registered_on=TODAY - timedelta(days=400)),
            dict(country="アメリカ", birth_year=1999,
                 registered_on=TODAY - timedelta(days=500)),
            dict(prefecture="大阪府", municipality="大阪市", birth_date=date(2001, 1, 2),
                 registered_on=TODAY - timedelta(days=60)),
            dict(prefecture="北海道", municipality="札幌市", birth_date=date(1960, 12, 31),
                 registered_on=TODAY - timedelta(days=1000)),
        ]  # fmt: skip
        people = []
        for n, spec in enumerate(specs):
            people.append(
                make_supporter(
                    family_name=f"集計{n}", email=f"p{n}@example.jp",
                    category_ids=[categories[n % len(categories)].id],
                    channel_id=channels[n % len(channels)].id if channels else None,
                    **spec,
                )
            )  # fmt: skip
        people[2].status, people[2].withdrawn_on = "withdrawn", TODAY - timedelta(100)
        event = make_event(first_day=TODAY - timedelta(days=200), days=2)
        for person in people[:3]:
            db.session.add(
                Attendance(event_day_id=event.days[0].id, supporter_id=person.id)
            )
        db.session.add(
            Attendance(event_day_id=event.days[1].id, supporter_id=people[0].id)
        )
        issued_at = datetime.combine(TODAY - timedelta(days=250), time(1))
        db.session.add(
            Issuance(supporter_id=people[0].id, kind="card", issued_at=issued_at)
        )
        db.session.add(Guest(event_day_id=event.days[0].id, name="来場者 𠮷",
                             supporter_id=people[1].id))  # fmt: skip
        db.session.commit()
        erased = people[:3]
        start = TODAY - timedelta(days=1100)
        yesterday = TODAY - timedelta(days=1)
        past = [(start, yesterday, yesterday)]
        past += [(start, yesterday, TODAY - timedelta(days=d))
                 for d in (1, 99, 100, 101, 299, 300, 301, 399, 400, 401, 799, 800)]  # fmt: skip
        past += [(TODAY - timedelta(days=365), yesterday, yesterday)]
        before = [_report(*p) for p in past]

        savepoint = db.session.begin_nested()
        for person in erased:
            if person.withdrawn_on is None:
                person.status, person.withdrawn_on = "withdrawn", TODAY
        db.session.flush()
        withdrawn_only = _report(start, TODAY, TODAY)
        savepoint.rollback()

        for person in erased:
            erase(db.session.get(Supporter, person.id))
        db.session.commit()
        assert [_report(*p) for p in past] == before
        assert _report(start, TODAY, TODAY) == withdrawn_only
        kept = db.session.get(Supporter, people[0].id)
        assert kept.birth_date == boundary  # the band changes inside the window
        assert db.session.get(Supporter, people[1].id).birth_date is None
