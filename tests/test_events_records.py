"""Events, their totals, hometown societies and partners, as staff see them."""

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.events.models import Event, EventDay
from crm.events.queries import compute_totals, desk_counts
from crm.events.services import (
    EventData,
    EventError,
    add_guest,
    change_walk_ins,
    check_in,
    convert_guest,
    save_event,
    undo_check_in,
)
from crm.extensions import db
from crm.societies.services import SocietyData, add_member, save_society
from tests.factories import make_event, make_supporter

RESIDENCE_PLACES = {
    "in_town": ("北海道", "夕張市", None),
    "in_prefecture": ("北海道", "札幌市中央区", None),
    "outside_prefecture": ("東京都", "新宿区", None),
    "overseas": (None, None, "アメリカ合衆国"),
    "unknown": (None, None, None),
}


def test_totals_match_an_independent_count(ctx):
    """Random attendance over three days; every figure recounted here by hand."""
    rng = random.Random(7)
    people = []
    for i in range(30):
        residence = rng.choice(list(RESIDENCE_PLACES))
        prefecture, municipality, country = RESIDENCE_PLACES[residence]
        supporter = make_supporter(
            given_name=f"{i}", prefecture=prefecture, municipality=municipality,
            country=country,
        )  # fmt: skip
        assert supporter.residence == residence
        people.append(supporter)
    event = make_event(days=3)
    attended = []  # (day index, supporter)
    walk_ins = {"citizen": 0, "visitor": 0}
    guests = {"citizen": 0, "visitor": 0}
    for index, day in enumerate(event.days):
        for supporter in rng.sample(people, k=rng.randint(5, 20)):
            check_in(day, supporter)
            attended.append((index, supporter))
        check_in(day, attended[-1][1])  # a repeat scan changes nothing
        for group in walk_ins:
            for _ in range(rng.randint(0, 6)):
                change_walk_ins(day, group, +1)
                walk_ins[group] += 1
            add_guest(day, group, f"ゲスト{index}")
            guests[group] += 1
    # A named guest who registers counts as a Liker from then on, not twice.
    guest = add_guest(event.days[0], "citizen", "夕張 一郎")
    newcomer = make_supporter(given_name="一郎")
    convert_guest(guest, newcomer)
    attended.append((0, newcomer))
    db.session.flush()

    outside = {"in_prefecture", "outside_prefecture", "overseas"}
    totals = compute_totals(event_id=event.id)
    assert totals.liker_participations == len(attended)
    assert totals.unique_likers == len({s.id for _, s in attended})
    assert totals.likers_in_town == sum(s.residence == "in_town" for _, s in attended)
    assert totals.likers_outside == sum(s.residence in outside for _, s in attended)
    assert totals.likers_unknown == sum(s.residence == "unknown" for _, s in attended)
    assert totals.unique_likers_outside == len(
        {s.id for _, s in attended if s.residence in outside}
    )
    assert totals.citizens == walk_ins["citizen"] + guests["citizen"]
    assert totals.visitors == walk_ins["visitor"] + guests["visitor"]
    assert totals.participations == (
        len(attended) + sum(walk_ins.values()) + sum(guests.values())
    )
    assert totals.in_town == totals.likers_in_town + totals.citizens
    assert totals.outside == totals.likers_outside + totals.visitors

    for index, day in enumerate(event.days):
        on_day = [s for i, s in attended if i == index]
        day_totals = compute_totals(day_id=day.id)
        assert day_totals.liker_participations == len(on_day)
        assert day_totals.unique_likers == len(on_day)  # once per day at most
        # The desk's cheap running figures agree with the full totals.
        assert desk_counts(day.id) == {
            "liker_participations": day_totals.liker_participations,
            "citizens": day_totals.citizens,
            "visitors": day_totals.visitors,
            "participations": day_totals.participations,
        }


def test_an_event_day_with_check_ins_cannot_be_removed(ctx):
    event = make_event(days=2)
    first, second = event.days
    check_in(first, make_supporter())
    db.session.commit()
    data = EventData(title=event.title, days=[second.day])
    with pytest.raises(EventError):
        save_event(event, data)
    db.session.rollback()
    # A day without records can go; new days can be added.
    save_event(
        event,
        EventData(title="写真展", days=[first.day, first.day + timedelta(days=7)]),
    )
    assert [d.day for d in event.days] == [first.day, first.day + timedelta(days=7)]


def test_staff_create_an_event_with_era_dates_and_partners(app, signed_in):
    staff = signed_in("staff")
    partner_page = staff.post_form(
        "/partners/new", {"name": "NPO法人ゆうばり歴史文化の会", "kind": "npo"}
    )
    assert partner_page.status_code == 302
    with app.app_context():
        from crm.events.models import Theme
        from crm.partners.models import Partner

        partner_id = db.session.scalar(select(Partner.id))
        theme_id = db.session.scalar(
            select(Theme.id).where(Theme.name == "歴史・文化の継承")
        )
    response = staff.post_form(
        "/events/new",
        {
            "title": "夕張の歴史写真展",
            "dates": "令和8年8月1日\n2026/8/2",
            "theme_id": str(theme_id),
            "kind": "event",
            "status": "planned",
            "place": "夕張市石炭博物館",
            "location": "in_town",
            "partner_ids": str(partner_id),
        },
    )
    assert response.status_code == 302
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "夕張の歴史写真展" in page
    assert "令和8年8月1日" in page and "令和8年8月2日" in page
    assert "NPO法人ゆうばり歴史文化の会" in page
    assert "歴史・文化の継承" in page
    partner = staff.get(f"/partners/{partner_id}").get_data(as_text=True)
    assert "夕張の歴史写真展" in partner  # the events they co-run


def test_a_bad_day_keeps_what_was_typed_and_explains(app, signed_in):
    staff = signed_in("staff")
    response = staff.post_form(
        "/events/new",
        {"title": "まちあるき", "dates": "8月32日", "kind": "tour", "status": "planned",
         "location": "in_town"},
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "令和8年8月1日 のように入力してください" in page
    assert 'value="まちあるき"' in page
    with app.app_context():
        assert db.session.scalar(select(Event.id)) is None


def test_the_event_page_shows_roster_totals_and_the_paper_sheet(app, signed_in):
    with app.test_request_context():
        event = make_event(
            title="清水沢地区 集落の寄り合い", first_day=date(2019, 5, 1)
        )
        day = event.days[0]
        check_in(day, make_supporter(), role="speaker")
        check_in(
            day,
            make_supporter(
                given_name="次郎", prefecture="東京都", municipality="新宿区"
            ),
        )
        change_walk_ins(day, "citizen", 1)
        db.session.commit()
        event_id, day_id = event.id, day.id
    viewer = signed_in("viewer")
    page = viewer.get(f"/events/{event_id}").get_data(as_text=True)
    assert "参加した Likers（2人）" in page or "参加したLikers（2人）" in page
    assert "講師・登壇者" in page
    assert 'data-total="participations">3<' in page
    assert "受付を開く" not in page  # viewers do not get the desk
    sheet = viewer.get(f"/events/{event_id}/days/{day_id}/sheet").get_data(as_text=True)
    assert "令和元年5月1日" in sheet
    assert sheet.count('<td class="c-no">') == 25


def test_likers_can_be_filtered_by_event_period_and_society(app, signed_in):
    with app.test_request_context():
        came = make_supporter(family_name="参加", family_name_kana="サンカ")
        member = make_supporter(family_name="会員", family_name_kana="カイイン")
        make_supporter(family_name="不参加", family_name_kana="フサンカ")
        event = make_event(first_day=date(2025, 6, 1))
        check_in(event.days[0], came)
        society = save_society(None, SocietyData(name="東京夕張会", region="東京都"))
        add_member(society, member.id, role="officer", since=date(2020, 4, 1))
        db.session.commit()
        event_id, society_id = event.id, society.id
    viewer = signed_in("viewer")

    def names(query):
        page = viewer.get(f"/likers/?{query}").get_data(as_text=True)
        return {n for n in ("参加", "会員", "不参加") if f">{n} 花子<" in page}

    assert names(f"event={event_id}") == {"参加"}
    assert names("attended_from=2025-05-01&attended_to=2025-06-30") == {"参加"}
    assert names("attended_from=2025-06-02") == set()
    assert names(f"society={society_id}") == {"会員"}
    assert names("") == {"参加", "会員", "不参加"}


def test_a_likers_page_shows_events_attended_and_societies(app, signed_in):
    with app.test_request_context():
        supporter = make_supporter()
        for title, day in (
            ("写真展", date(2025, 6, 1)),
            ("まちあるき", date(2025, 7, 1)),
        ):
            check_in(make_event(title=title, first_day=day).days[0], supporter)
        society = save_society(None, SocietyData(name="札幌ゆうばり会"))
        db.session.commit()
        supporter_id, society_id = supporter.id, society.id
    staff = signed_in("staff")
    page = staff.get(f"/likers/{supporter_id}").get_data(as_text=True)
    assert "参加 2回" in page
    assert page.index("まちあるき") < page.index("写真展")  # latest first
    response = staff.post_form(
        "/societies/join",
        {"supporter_id": str(supporter_id), "society_id": str(society_id),
         "role": "member", "since": "平成30年4月1日"},
        token_from=f"/likers/{supporter_id}",
    )  # fmt: skip
    assert response.headers["Location"] == f"/likers/{supporter_id}"
    page = staff.get(f"/likers/{supporter_id}").get_data(as_text=True)
    assert "札幌ゆうばり会" in page and "2018年4月1日 から" in page
    society_page = staff.get(f"/societies/{society_id}").get_data(as_text=True)
    assert "夕張 花子" in society_page


def test_societies_add_members_by_number_and_count_their_participations(app, signed_in):
    with app.test_request_context():
        supporter = make_supporter()
        check_in(make_event().days[0], supporter)
        society = save_society(None, SocietyData(name="東京夕張会"))
        db.session.commit()
        number, society_id = supporter.registration_number, society.id
    staff = signed_in("staff")
    url = f"/societies/{society_id}"
    staff.post_form(
        f"{url}/members",
        {"registration_number": number, "role": "officer"},
        token_from=url,
    )
    page = staff.get(url).get_data(as_text=True)
    assert "会員（1人）" in page and "役員" in page
    listing = staff.get("/societies/").get_data(as_text=True)
    assert '<td class="text-end">1</td><td class="text-end">1</td>' in listing
    missing = staff.post_form(
        f"{url}/members", {"registration_number": "YL-99999"}, token_from=url,
        follow_redirects=True,
    )  # fmt: skip
    assert "この登録番号の登録者はいません。" in missing.get_data(as_text=True)


def test_a_guest_written_down_at_an_event_can_become_a_liker(app, signed_in):
    with app.test_request_context():
        event = make_event()
        guest = add_guest(event.days[0], "citizen", "沼ノ沢 一", "ヌマノサワ ハジメ")
        db.session.commit()
        guest_id, event_id, day_id = guest.id, event.id, event.days[0].id
    staff = signed_in("staff")
    form = staff.get(f"/likers/new?guest={guest_id}").get_data(as_text=True)
    assert 'value="沼ノ沢"' in form and 'value="ハジメ"' in form
    response = staff.post_form(
        f"/likers/new?guest={guest_id}",
        {"family_name": "沼ノ沢", "given_name": "一", "family_name_kana": "ヌマノサワ",
         "given_name_kana": "ハジメ", "registered_on": "2026-01-01",
         "privacy_consent": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        totals = compute_totals(event_id=event_id)
        assert (totals.liker_participations, totals.citizens) == (1, 0)
        assert db.session.get(EventDay, day_id) is not None


def test_demo_data_creates_events_with_attendance_societies_and_partners(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo-data", "--likers", "200"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from crm.events.models import Attendance
        from crm.partners.models import Partner
        from crm.societies.models import Society, SocietyMembership

        assert db.session.query(Event).count() >= 10
        assert db.session.query(Attendance).count() > 100
        assert db.session.query(Partner).count() >= 3
        assert {s.name for s in db.session.query(Society)} >= {
            "東京夕張会",
            "札幌ゆうばり会",
        }
        assert db.session.query(SocietyMembership).count() > 0
        themed = db.session.query(Event).filter(Event.theme_id.is_not(None)).count()
        assert themed >= 10


def test_an_event_made_by_mistake_can_be_deleted_but_not_one_with_attendance(
    app, signed_in
):
    with app.test_request_context():
        empty = make_event(title="間違えて作ったイベント")
        held = make_event(title="写真展")
        check_in(held.days[0], make_supporter())
        db.session.commit()
        empty_id, held_id = empty.id, held.id
    staff = signed_in("staff")
    refused = staff.post_form(
        f"/events/{held_id}/delete", token_from=f"/events/{held_id}/edit",
        follow_redirects=True,
    )  # fmt: skip
    assert "削除できません" in refused.get_data(as_text=True)
    deleted = staff.post_form(
        f"/events/{empty_id}/delete", token_from=f"/events/{empty_id}/edit",
        follow_redirects=True,
    )  # fmt: skip
    assert "間違えて作ったイベント を削除しました" in deleted.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Event, empty_id) is None
        assert db.session.get(Event, held_id) is not None


def test_saving_counts_on_the_event_page_keeps_what_a_desk_counted_meanwhile(
    app, signed_in
):
    with app.test_request_context():
        event = make_event()
        day = event.days[0]
        change_walk_ins(day, "citizen", 1)
        db.session.commit()
        event_id, day_id = event.id, day.id
    staff = signed_in("staff")
    page = staff.get(f"/events/{event_id}").get_data(as_text=True)
    assert 'name="citizen_shown" value="1"' in page
    with app.test_request_context():  # the desk counts two more citizens
        change_walk_ins(db.session.get(EventDay, day_id), "citizen", 1)
        change_walk_ins(db.session.get(EventDay, day_id), "citizen", 1)
        db.session.commit()
    # Staff only corrected the visitors, from the page loaded before.
    staff.post_form(
        f"/events/{event_id}/days/{day_id}/walk-ins",
        {"citizen": "1", "citizen_shown": "1", "visitor": "4", "visitor_shown": "0"},
        token_from=f"/events/{event_id}",
    )
    with app.app_context():
        totals = compute_totals(day_id=day_id)
        assert (totals.citizens, totals.visitors) == (3, 4)


def test_undoing_the_check_in_of_a_registered_guest_counts_them_as_a_guest_again(ctx):
    event = make_event()
    guest = add_guest(event.days[0], "citizen", "夕張 一郎")
    result = convert_guest(guest, make_supporter(given_name="一郎"))
    totals = compute_totals(event_id=event.id)
    assert (totals.liker_participations, totals.citizens) == (1, 0)
    undo_check_in(result.attendance)
    totals = compute_totals(event_id=event.id)
    assert (totals.liker_participations, totals.citizens) == (0, 1)


def test_an_event_keeps_its_theme_after_the_theme_is_switched_off(app, signed_in):
    with app.test_request_context():
        from crm.events.models import Theme

        theme = Theme(name="旧テーマ", position=99, active=False)
        db.session.add(theme)
        db.session.flush()
        event = make_event(theme_id=theme.id)
        db.session.commit()
        event_id = event.id
    page = signed_in("staff").get(f"/events/{event_id}/edit").get_data(as_text=True)
    assert "selected" in page.split("旧テーマ")[0].rsplit("<option", 1)[1]
    new_page = signed_in("staff").get("/events/new").get_data(as_text=True)
    assert "旧テーマ" not in new_page


def test_a_town_or_village_sees_its_own_words_not_those_of_a_city(app, signed_in):
    with app.test_request_context():
        from crm.admin.services import get_settings

        get_settings().municipality_name = "栗山町"
        event = make_event()
        db.session.commit()
        event_id, day_id = event.id, event.days[0].id
    staff = signed_in("staff")
    page = staff.get(f"/events/{event_id}").get_data(as_text=True)
    assert "町内在住 / 町外在住" in page and "町民（未登録・人数のみ）" in page
    assert "市民" not in page and "市内" not in page
    sheet = staff.get(f"/events/{event_id}/days/{day_id}/sheet").get_data(as_text=True)
    assert "□町民 □来訪者" in sheet and "栗山町にお住まい" in sheet
    desk = staff.get(f"/desk/{day_id}").get_data(as_text=True)
    assert "Alt+1/2で町民" in desk
