"""Demo events, partners, hometown societies and attendance on top of demo Likers.

Yubari's own year as the model: two themes run with partner organisations, a
chartered train, village meetings, town walks, PR in Tokyo, and the hometown
societies in Sapporo and Tokyo.
"""

import random
from datetime import datetime, time, timedelta

from sqlalchemy import func, insert, select

from crm.events.models import Attendance, EventDay, Theme, WalkInCount
from crm.events.services import EventData, add_guest, save_event
from crm.extensions import db
from crm.partners.models import Partner
from crm.partners.services import PartnerData, save_partner
from crm.societies.models import Society, SocietyMembership
from crm.societies.services import SocietyData, save_society
from crm.supporters.models import Supporter
from crm.timeutil import today_jst, utcnow

PARTNERS = (
    ("NPO法人ゆうばり歴史文化の会", "npo"), ("一般社団法人夕張集落ネットワーク", "general_incorporated"),
    ("夕張観光開発株式会社", "company"), ("北海道夕張高等学校", "school"),
)  # fmt: skip
SOCIETIES = (
    ("札幌ゆうばり会", "札幌市"), ("東京夕張会", "東京都"), ("東京大夕張会", "東京都"),
)  # fmt: skip
# (title, theme index, kind, place, location, days, partner indexes, days ago)
EVENTS = (
    ("炭鉱の記憶をつなぐ貸切列車の旅", 0, "tour", "夕張駅〜新夕張駅", "in_town", 1, (0,), 400),
    ("夕張の歴史写真展", 0, "event", "夕張市石炭博物館", "in_town", 3, (0,), 330),
    ("清水沢地区 集落の寄り合い", 1, "meeting", "清水沢コミュニティセンター", "in_town", 1, (1,), 300),
    ("まちあるき 本町編", 1, "tour", "夕張市本町", "in_town", 1, (1,), 240),
    ("南部地区 集落の寄り合い", 1, "meeting", "南部コミュニティセンター", "in_town", 1, (1,), 200),
    ("ツーリズムEXPO 夕張ブース", 2, "pr", "東京ビッグサイト", "outside", 2, (2,), 180),
    ("夕張高校 学校祭での交流", 4, "event", "北海道夕張高等学校", "in_town", 1, (3,), 120),
    ("まちあるき 清水沢編", 1, "tour", "夕張市清水沢", "in_town", 1, (1,), 60),
    ("移住オンライン相談会", 3, "online", "オンライン", "online", 1, (), 30),
    ("東京夕張会 新年交流会", 2, "meeting", "東京都千代田区", "outside", 1, (), 10),
    ("紅葉山 集落の寄り合い", 1, "meeting", "紅葉山会館", "in_town", 1, (1,), -7),
    ("夕張メロン収穫体験ツアー", 2, "tour", "夕張市農協選果場", "in_town", 2, (2,), -40),
)  # fmt: skip
GUESTS = (
    ("夕張 太郎", "ユウバリ タロウ"),
    ("清水 ハナ", "シミズ ハナ"),
    ("沼ノ沢 一", "ヌマノサワ ハジメ"),
)


def add_demo_activity(seed: int = 2018) -> int:
    """Create the demo events with attendance; returns the number of check-ins."""
    rng = random.Random(seed)
    today = today_jst()
    themes = list(db.session.scalars(select(Theme).order_by(Theme.position)))
    partners = [
        db.session.scalar(select(Partner).where(Partner.name == name))
        or save_partner(None, PartnerData(name=name, kind=kind))
        for name, kind in PARTNERS
    ]
    societies = [
        db.session.scalar(select(Society).where(Society.name == name))
        or save_society(
            None, SocietyData(name=name, region=region, contact_person="事務局")
        )
        for name, region in SOCIETIES
    ]
    supporters = db.session.execute(
        select(Supporter.id, Supporter.residence, Supporter.prefecture).where(
            Supporter.status == "active"
        )
    ).all()
    if not supporters:
        return 0
    _add_memberships(rng, societies, supporters)
    in_town = [s.id for s in supporters if s.residence == "in_town"]
    others = [s.id for s in supporters if s.residence != "in_town"]
    check_ins = 0
    for title, theme, kind, place, location, length, partner_idx, ago in EVENTS:
        first = today - timedelta(days=ago)
        event = save_event(
            None,
            EventData(
                title=title,
                days=[first + timedelta(days=i) for i in range(length)],
                theme_id=themes[theme].id if theme < len(themes) else None,
                kind=kind, place=place, location=location,
                capacity=rng.choice((None, 30, 50, 100)),
                status="held" if ago > 0 else "planned",
                partner_ids=[partners[i].id for i in partner_idx],
            ),
        )  # fmt: skip
        if ago <= 0:
            continue
        for day in event.days:
            check_ins += _attend(rng, day, location, in_town, others)
    db.session.commit()
    return check_ins


def _add_memberships(rng, societies, supporters) -> None:
    if db.session.scalar(select(func.count()).select_from(SocietyMembership)):
        return
    by_region = {"札幌市": "北海道", "東京都": "東京都"}
    rows = []
    for society in societies:
        region = by_region.get(society.region)
        pool = [
            s.id
            for s in supporters
            if s.prefecture == region and s.residence != "in_town"
        ]
        for position, supporter_id in enumerate(rng.sample(pool, k=min(len(pool), 25))):
            rows.append(
                {
                    "society_id": society.id, "supporter_id": supporter_id,
                    "role": "officer" if position < 2 else "member",
                    "since": today_jst() - timedelta(days=rng.randint(30, 3000)),
                    "created_at": utcnow(),
                }
            )  # fmt: skip
    if rows:
        db.session.execute(insert(SocietyMembership), rows)


def _attend(rng, day: EventDay, location: str, in_town: list, others: list) -> int:
    local_share = 0.7 if location == "in_town" else 0.1
    count = rng.randint(12, 45)
    chosen = set()
    for _ in range(count):
        pool = (
            in_town
            if (rng.random() < local_share and in_town) or not others
            else others
        )
        chosen.add(rng.choice(pool))
    # Doors open at 10:00 in Japan (01:00 UTC); one arrival a minute or so.
    start = datetime.combine(day.day, time(1, 0))
    rows = [
        {
            "event_day_id": day.id, "supporter_id": supporter_id,
            "role": rng.choices(("participant", "volunteer", "helper", "speaker"), (20, 3, 2, 1))[0],
            "checked_in_at": start + timedelta(minutes=i), "method": "scan",
        }
        for i, supporter_id in enumerate(sorted(chosen))
    ]  # fmt: skip
    db.session.execute(insert(Attendance), rows)
    for group, low, high in (("citizen", 5, 40), ("visitor", 0, 15)):
        db.session.add(
            WalkInCount(event_day_id=day.id, group=group, count=rng.randint(low, high))
        )
    if rng.random() < 0.4:
        name, kana = rng.choice(GUESTS)
        add_guest(day, "citizen", name, kana)
    return len(rows)
