"""An event's roster as a spreadsheet: who came on each day, and the other visitors.

One flat table that sorts and sums in Excel: per day the Likers checked in (by
time), the guests written down by name, then the walk-in counts. 人数 is 1 for a
person and the count for a walk-in line, so its sum is the day's participations.
"""

from dataclasses import dataclass, field

from flask_babel import force_locale
from sqlalchemy import select

from crm.events.forms import group_labels, role_labels
from crm.events.models import Attendance, Event, EventDay, Guest, WalkInCount
from crm.exports.likers import joined_name, labels_for
from crm.extensions import db
from crm.supporters.models import STOPPED_STATUSES, Supporter
from crm.templating import japanese_town_terms
from crm.timeutil import to_jst

ROSTER_COLUMNS = [
    "day", "kind", "number", "name", "kana", "role", "checked_in_at", "residence",
    "count",
]  # fmt: skip
ROSTER_HEADER = [
    "日付", "区分", "登録番号", "氏名", "ふりがな", "役割", "受付時刻", "居住地", "人数",
]  # fmt: skip
# In place of the name of someone whose use was stopped (利用停止) or erased.
STOPPED_ROW_NAME = "（利用停止）"
ROSTER_WIDTHS = [11, 18, 11, 16, 18, 12, 9, 8, 6]


@dataclass
class Roster:
    rows: list[list] = field(default_factory=list)
    supporter_ids: list[int] = field(default_factory=list)
    guest_ids: list[int] = field(default_factory=list)


def _group_labels(settings) -> dict[str, str]:
    with force_locale("ja"):
        visitors = str(group_labels()["visitor"])
    return {"citizen": japanese_town_terms(settings)["residents"], "visitor": visitors}


def event_roster(event: Event, settings) -> Roster:
    """The rows of the roster, day by day, and whose names they hold."""
    with force_locale("ja"):
        roles = {key: str(label) for key, label in role_labels().items()}
    groups = _group_labels(settings)
    residences = labels_for(settings).residences
    word = settings.supporter_word or "Likers"
    rows_by_day: dict = {day.day: [] for day in event.days}
    roster = Roster()

    attendances = db.session.execute(
        select(
            EventDay.day,
            Supporter.id,
            Supporter.registration_number,
            Supporter.family_name,
            Supporter.given_name,
            Supporter.family_name_kana,
            Supporter.given_name_kana,
            Attendance.role,
            Attendance.checked_in_at,
            Supporter.residence,
            Supporter.status,
        )  # fmt: skip
        .join(Attendance, Attendance.event_day_id == EventDay.id)
        .join(Supporter, Supporter.id == Attendance.supporter_id)
        .where(EventDay.event_id == event.id)
        .order_by(EventDay.day, Attendance.checked_in_at, Attendance.id)
    )
    for a in attendances:
        checked_in = to_jst(a.checked_in_at).time().replace(microsecond=0, tzinfo=None)
        if a.status in STOPPED_STATUSES:
            # Use stopped or erased: still counted, but nothing that names them.
            rows_by_day[a.day].append([
                a.day, word, None, STOPPED_ROW_NAME, None, roles.get(a.role, a.role),
                checked_in, None, 1,
            ])  # fmt: skip
            continue
        roster.supporter_ids.append(a.id)
        rows_by_day[a.day].append([
            a.day, word, a.registration_number,
            joined_name(a.family_name, a.given_name),
            joined_name(a.family_name_kana, a.given_name_kana),
            roles.get(a.role, a.role), checked_in,
            residences.get(a.residence, a.residence), 1,
        ])  # fmt: skip

    # A guest who registered later is counted as a Liker above, not again here.
    guests = db.session.execute(
        select(EventDay.day, Guest.id, Guest.group, Guest.name, Guest.name_kana)
        .join(Guest, Guest.event_day_id == EventDay.id)
        .where(EventDay.event_id == event.id, Guest.supporter_id.is_(None))
        .order_by(EventDay.day, Guest.id)
    )
    for day, guest_id, group, name, kana in guests:
        roster.guest_ids.append(guest_id)
        kind = f"{groups.get(group, group)}（名前を記録）"
        rows_by_day[day].append([day, kind, None, name, kana, None, None, None, 1])

    walk_ins = db.session.execute(
        select(EventDay.day, WalkInCount.group, WalkInCount.count)
        .join(WalkInCount, WalkInCount.event_day_id == EventDay.id)
        .where(EventDay.event_id == event.id, WalkInCount.count > 0)
        .order_by(EventDay.day, WalkInCount.group)
    )
    for day, group, count in walk_ins:
        kind = f"{groups.get(group, group)}（人数のみ）"
        rows_by_day[day].append([day, kind, None, None, None, None, None, None, count])

    for day_rows in rows_by_day.values():
        roster.rows.extend(day_rows)
    return roster
