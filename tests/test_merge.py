"""Merging two records of the same Liker: what moves, what is chosen, where the
merged-away record still leads."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.documents.models import Issuance
from crm.documents.services import record_issues
from crm.events.models import Attendance, Guest
from crm.events.services import add_guest, check_in
from crm.extensions import db
from crm.societies.models import SocietyMembership
from crm.societies.services import SocietyData, add_member, save_society
from crm.supporters.merge import (
    HANDLED_REFERENCES,
    MERGE_FIELDS,
    MergeError,
    default_choices,
    merge_supporters,
)
from crm.supporters.models import Category, Supporter
from crm.supporters.queries import SupporterFilter, list_supporters, select_supporters
from crm.supporters.services import PLAIN_FIELDS
from tests.conftest import csrf_token_from
from tests.factories import make_event, make_supporter

JSON = {"Accept": "application/json"}


def _references_to_supporters() -> set[tuple[str, str]]:
    return {
        (table.name, fk.parent.name)
        for table in db.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "supporters" and fk.column.name == "id"
    }


def test_every_reference_to_a_supporter_is_handled(app):
    """A new table pointing at supporters.id must be decided on in merge.py."""
    with app.app_context():
        assert _references_to_supporters() == set(HANDLED_REFERENCES)


def test_every_typed_field_is_chosen_or_joined():
    chosen = {column for columns in MERGE_FIELDS.values() for column in columns}
    assert set(PLAIN_FIELDS) - chosen == {"notes"}  # notes: both are kept


def _at(hour: int) -> datetime:
    return datetime(2025, 6, 1, hour, 0)


def test_merge_moves_every_kind_of_attached_record(ctx):
    categories = db.session.scalars(select(Category).order_by(Category.id)).all()
    survivor = make_supporter(registered_on=date(2020, 4, 1), tag_names=["a"],
                              category_ids=[categories[0].id])  # fmt: skip
    merged = make_supporter(registered_on=date(2018, 6, 1), tag_names=["b", "a"],
                            category_ids=[categories[0].id, categories[1].id])  # fmt: skip
    earlier = make_supporter(family_name="以前")  # merged into `merged` long ago
    earlier.status, earlier.merged_into_id = "merged", merged.id

    both_day, their_day, my_day = make_event(days=3).days
    check_in(both_day, survivor).attendance.checked_in_at = _at(10)
    check_in(both_day, merged, role="volunteer").attendance.checked_in_at = _at(9)
    check_in(their_day, merged)
    check_in(my_day, survivor)
    guest = add_guest(their_day, "citizen", "夕張 花子")
    guest.supporter_id = merged.id
    record_issues([merged.id], "card")
    record_issues([merged.id, survivor.id], "certificate")
    shared = save_society(None, SocietyData(name="東京夕張会"))
    theirs = save_society(None, SocietyData(name="札幌夕張会"))
    add_member(shared, survivor.id, since=date(2022, 1, 1))
    add_member(shared, merged.id, role="officer", since=date(2019, 1, 1))
    add_member(theirs, merged.id, since=date(2021, 5, 5))
    merged.referral_society_id = theirs.id
    db.session.flush()

    merge_supporters(survivor, merged, {"referral_society": "merged"})
    db.session.flush()
    db.session.expire_all()

    rows = db.session.scalars(
        select(Attendance).where(Attendance.supporter_id == survivor.id)
    ).all()
    assert {a.event_day_id for a in rows} == {both_day.id, their_day.id, my_day.id}
    kept = next(a for a in rows if a.event_day_id == both_day.id)
    assert (kept.checked_in_at, kept.role) == (_at(9), "volunteer")  # the earlier
    assert db.session.get(Guest, guest.id).supporter_id == survivor.id
    issued = db.session.scalars(
        select(Issuance.kind).where(Issuance.supporter_id == survivor.id)
    ).all()
    assert sorted(issued) == ["card", "certificate", "certificate"]
    memberships = {
        m.society_id: (m.role, m.since)
        for m in db.session.scalars(
            select(SocietyMembership).where(
                SocietyMembership.supporter_id == survivor.id
            )
        )
    }
    assert memberships == {
        shared.id: ("officer", date(2019, 1, 1)),
        theirs.id: ("member", date(2021, 5, 5)),
    }
    assert [c.id for c in survivor.categories] == [c.id for c in categories[:2]]
    assert sorted(t.name for t in survivor.tags) == ["a", "b"]
    assert survivor.referral_society_id == theirs.id
    assert (merged.status, merged.merged_into_id) == ("merged", survivor.id)
    assert merged.family_name == "夕張"  # kept as it was, for the audit trail
    assert earlier.merged_into_id == survivor.id

    # Nothing anywhere points at the merged-away record any more.
    for table_name, column in _references_to_supporters():
        table = db.metadata.tables[table_name]
        left = db.session.scalar(
            select(func.count()).select_from(table).where(table.c[column] == merged.id)
        )
        assert left == 0, (table_name, column)


def test_chosen_fields_are_applied_and_derived_columns_recomputed(ctx):
    survivor = make_supporter(email="old@example.jp", phone="011-111-1111",
                              notes="電話は夜に")  # fmt: skip
    merged = make_supporter(
        family_name_kana="ゆうばり", email="New@Example.jp", name_romaji="Hanako",
        postal_code="160-0022", prefecture="東京都", municipality="新宿区",
        address="新宿1-1", news_opt_in=True, show_name_publicly=True,
        birth_date=date(1980, 2, 3), notes="ふるさと納税 2023",
    )  # fmt: skip
    assert survivor.residence == "in_town"
    choices = default_choices(survivor, merged)
    assert choices["name_romaji"] == choices["birth"] == "merged"  # survivor's empty
    assert choices["email"] == choices["address"] == "survivor"
    assert choices["news_opt_in"] == "survivor"  # "no" is an answer, not a blank

    merge_supporters(
        survivor, merged,
        {"email": "merged", "address": "merged", "family_name_kana": "merged",
         "show_name_publicly": "merged"},
    )  # fmt: skip
    assert survivor.email == "New@Example.jp"
    assert survivor.email_key == "new@example.jp"
    assert (survivor.postal_code, survivor.municipality) == ("160-0022", "新宿区")
    assert survivor.residence == "outside_prefecture"
    assert survivor.family_name_kana == "ゆうばり"
    assert survivor.kana_key == merged.kana_key
    assert survivor.name_romaji == "Hanako"
    assert (survivor.birth_date, survivor.birth_year) == (date(1980, 2, 3), 1980)
    assert survivor.phone == "011-111-1111"
    assert survivor.news_opt_in is False and survivor.show_name_publicly is True
    assert survivor.notes == "電話は夜に\n\nふるさと納税 2023"


def test_the_older_number_and_date_are_kept_unless_chosen_otherwise(ctx):
    older = make_supporter(registered_on=date(2018, 4, 1))
    newer = make_supporter(registered_on=date(2024, 4, 1))
    older_number, newer_number = older.registration_number, newer.registration_number

    merge_supporters(newer, older, {})  # staff kept the newer record
    assert newer.registration_number == older_number
    assert older.registration_number == newer_number  # still leads to the survivor
    assert newer.registered_on == date(2018, 4, 1)

    again = make_supporter(registered_on=date(2015, 1, 1))
    kept = newer.registration_number
    merge_supporters(newer, again, {"registration_number": "survivor"})
    assert newer.registration_number == kept
    assert newer.registered_on == date(2015, 1, 1)


def test_the_merge_is_written_to_the_audit_log(ctx):
    survivor, merged = make_supporter(), make_supporter()
    merge_supporters(survivor, merged, {"email": "merged"})
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "merge")
    ).one()
    assert (entry.object_type, entry.object_id) == ("supporter", survivor.id)
    assert entry.details["merged"] == merged.id
    assert set(entry.details["fields"]) == set(MERGE_FIELDS)
    assert entry.details["fields"]["email"] == "merged"


def test_a_record_merges_neither_with_itself_nor_twice(ctx):
    a, b, c = make_supporter(), make_supporter(), make_supporter()
    with pytest.raises(MergeError):
        merge_supporters(a, a, {})
    with pytest.raises(MergeError):
        merge_supporters(a, b, {"email": "theirs"})
    merge_supporters(a, b, {})
    with pytest.raises(MergeError):
        merge_supporters(c, b, {})


# --- where the merged-away record still leads ------------------------------------


def _merged_pair(app, **merged_fields):
    """Two committed records, the second merged into the first: their ids,
    tokens and the numbers after the merge."""
    with app.test_request_context():
        survivor = make_supporter(registered_on=date(2019, 5, 1))
        merged = make_supporter(
            registered_on=date(2020, 5, 1), email="dup@example.jp", **merged_fields
        )
        merge_supporters(survivor, merged, {})
        db.session.commit()
        return {
            "survivor": (survivor.id, survivor.public_token,
                         survivor.registration_number),
            "merged": (merged.id, merged.public_token, merged.registration_number),
        }  # fmt: skip


def test_a_merged_away_token_redirects_to_the_survivor(app, signed_in):
    pair = _merged_pair(app)
    survivor_id, survivor_token, number = pair["survivor"]
    _id, merged_token, _number = pair["merged"]
    visitor = app.test_client()
    response = visitor.get(f"/v/{merged_token}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/v/{survivor_token}"
    assert response.headers["Cache-Control"] == "no-store"
    page = visitor.get(f"/v/{merged_token}", follow_redirects=True)
    assert page.status_code == 200 and number in page.get_data(as_text=True)
    # Staff who scan it while signed in go to the survivor's record.
    staff = signed_in("staff")
    response = staff.get(f"/v/{merged_token}")
    assert response.headers["Location"] == f"/likers/{survivor_id}"


def test_a_chain_of_merges_resolves_to_the_last_survivor(app):
    with app.test_request_context():
        first, second, third = make_supporter(), make_supporter(), make_supporter()
        merge_supporters(second, first, {})
        merge_supporters(third, second, {})
        # As if merged before merges were repointed: first -> second -> third.
        first.merged_into_id = second.id
        loop = make_supporter()
        loop.status, loop.merged_into_id = "merged", loop.id  # broken data
        db.session.commit()
        tokens = {
            name: record.public_token
            for name, record in (("first", first), ("third", third), ("loop", loop))
        }
    visitor = app.test_client()
    response = visitor.get(f"/v/{tokens['first']}")
    assert response.headers["Location"] == f"/v/{tokens['third']}"
    assert visitor.get(f"/v/{tokens['loop']}").status_code == 404


def test_a_merged_away_record_leaves_lists_searches_and_print_selections(app):
    pair = _merged_pair(app)
    survivor_id, _token, _number = pair["survivor"]
    merged_id, _token, merged_number = pair["merged"]
    with app.test_request_context():
        for status in ("active", "withdrawn", "all"):
            for q in ("", "dup@example.jp", "ユウバリ", merged_number):
                filters = SupporterFilter(q=q, status=status)
                listed = [s.id for s in list_supporters(filters, 1, 50).items]
                assert merged_id not in listed, (status, q)
                assert merged_id not in [s.id for s in select_supporters(filters, 50)]
        everyone = list_supporters(SupporterFilter(status="all"), 1, 50)
        assert [s.id for s in everyone.items] == [survivor_id]


def test_the_desk_checks_in_the_survivor_for_a_merged_away_code(app, signed_in):
    pair = _merged_pair(app)
    survivor_id, _token, number = pair["survivor"]
    _id, merged_token, merged_number = pair["merged"]
    with app.test_request_context():
        day_id = make_event().days[0].id
        db.session.commit()
    staff = signed_in("staff")
    token = csrf_token_from(staff.get(f"/desk/{day_id}").get_data(as_text=True))

    def scan(code):
        return staff.client.post(
            f"/desk/{day_id}/check-in",
            data={"code": code},
            headers={**JSON, "X-CSRFToken": token},
        ).get_json()

    first = scan(f"https://likers.example.jp/v/{merged_token}")
    assert first["result"] == "checked_in"
    assert first["supporter"]["number"] == number
    assert scan(merged_number)["result"] == "already"  # the same person
    assert [c["number"] for c in scan("ユウバリ")["candidates"]] == [number]
    with app.app_context():
        rows = db.session.scalars(select(Attendance.supporter_id)).all()
        assert rows == [survivor_id]


# --- the screen ---------------------------------------------------------------------


def test_staff_merge_two_records_from_a_likers_page(app, signed_in):
    with app.test_request_context():
        day = make_event().days[0]
        survivor = make_supporter(email="hanako@example.jp")
        other = make_supporter(
            email="Hanako@example.jp", registered_on=date(2017, 7, 7),
            phone="090-1234-5678",
        )  # fmt: skip
        check_in(day, other)
        db.session.commit()
        ids = survivor.id, other.id
        other_number = other.registration_number
        survivor_number = survivor.registration_number
    survivor_id, other_id = ids
    staff = signed_in("staff")
    show = staff.get(f"/likers/{survivor_id}").get_data(as_text=True)
    assert f"/likers/{survivor_id}/merge" in show and "重複をまとめる" in show

    choose = staff.get(f"/likers/{survivor_id}/merge").get_data(as_text=True)
    assert other_number in choose and f"/merge/{other_id}" in choose  # same email
    by_number = staff.get(
        f"/likers/{survivor_id}/merge", query_string={"number": other_number}
    )
    assert by_number.headers["Location"] == f"/likers/{survivor_id}/merge/{other_id}"

    compare = staff.get(f"/likers/{survivor_id}/merge/{other_id}")
    page = compare.get_data(as_text=True)
    assert compare.status_code == 200
    assert survivor_number in page and other_number in page
    assert "090-1234-5678" in page and "参加 1回" in page
    # Defaults: the survivor's value; the other's where the survivor has none;
    # the older number.
    assert 'id="email-survivor" value="survivor" checked' in page
    assert 'id="phone-merged" value="merged" checked' in page
    assert 'id="registration_number-merged" value="merged" checked' in page

    form = {name: "survivor" for name in MERGE_FIELDS}
    form.pop("phone")  # an unanswered field: nothing is merged
    url = f"/likers/{survivor_id}/merge/{other_id}"
    response = staff.post_form(url, form)
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Supporter, other_id).status == "active"

    form.update(phone="merged", registration_number="merged")
    response = staff.post_form(url, form)
    assert response.headers["Location"] == f"/likers/{survivor_id}"
    page = staff.get(f"/likers/{survivor_id}").get_data(as_text=True)
    assert other_number in page  # the survivor now carries the older number
    assert f"{survivor_number}から統合" in page.replace(" ", "")
    assert "090-1234-5678" in page
    merged_page = staff.get(f"/likers/{other_id}").get_data(as_text=True)
    assert "統合済み" in merged_page and f'href="/likers/{survivor_id}"' in merged_page
    assert f"/likers/{other_id}/edit" not in merged_page
    # A merged-away record cannot be merged again.
    again = staff.get(f"/likers/{other_id}/merge/{survivor_id}")
    assert again.headers["Location"] == f"/likers/{other_id}"


def test_viewers_cannot_merge(app, signed_in):
    with app.test_request_context():
        a, b = make_supporter(), make_supporter()
        db.session.commit()
        ids = a.id, b.id
    viewer = signed_in("viewer")
    token = csrf_token_from(viewer.get("/likers/").get_data(as_text=True))
    assert viewer.get(f"/likers/{ids[0]}/merge").status_code == 403
    assert viewer.get(f"/likers/{ids[0]}/merge/{ids[1]}").status_code == 403
    form = {name: "survivor" for name in MERGE_FIELDS} | {"csrf_token": token}
    response = viewer.client.post(f"/likers/{ids[0]}/merge/{ids[1]}", data=form)
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Supporter, ids[1]).status == "active"
