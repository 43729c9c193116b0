"""Importing records about Likers: attendance from paper sign-in sheets, and
hometown society memberships. Each row names a Liker by registration number, or by
name (and reading) when that is unique; the file is written whole or not at all.
"""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from crm.admin.services import get_settings
from crm.audit.services import record_event
from crm.database import upsert_insert
from crm.events.models import ATTENDANCE_ROLES, Attendance, Event, WalkInCount
from crm.events.services import mark_held
from crm.extensions import db
from crm.imports.likers import _date, _split, _text, fold
from crm.imports.reading import Table
from crm.japanese import kana_key, name_key
from crm.societies.models import MEMBERSHIP_ROLES, Society, SocietyMembership
from crm.supporters.models import Supporter
from crm.timeutil import utcnow

ATTENDANCE_ROLE_NAMES = {"参加者": "participant", "ボランティア": "volunteer",
                         "講師": "speaker", "登壇者": "speaker", "講師・登壇者": "speaker",
                         "運営協力": "helper", "スタッフ": "helper"}  # fmt: skip
MEMBERSHIP_ROLE_NAMES = {"会員": "member", "役員": "officer"}


@dataclass
class RecordCheck:
    rows: int = 0
    problems: dict[int, list[str]] = field(default_factory=dict)
    planned: list[tuple] = field(default_factory=list)  # what commit will write

    @property
    def ok(self) -> bool:
        return not self.problems


def find_liker(
    text: dict[str, str], numbers_cache: dict
) -> tuple[int | None, str | None]:
    """(supporter id, None) or (None, the problem): by number, else a unique name."""
    settings = get_settings()
    number = text.get("registration_number", "")
    if number:
        if number.isdigit():
            number = settings.format_number(int(number))
        if number not in numbers_cache:
            numbers_cache[number] = db.session.scalar(
                select(Supporter.id).where(
                    Supporter.registration_number == number,
                    Supporter.status == "active",
                )
            )
        found = numbers_cache[number]
        if found is None:
            return None, _("No active Liker has the number %(number)s.", number=number)
        return found, None
    family, given = text.get("family_name", ""), text.get("given_name", "")
    if not family and text.get("full_name"):
        family, given = _split(text["full_name"])
    if not family:
        return None, _("Give a registration number or a name.")
    query = select(Supporter.id, Supporter.registration_number).where(
        Supporter.name_key == name_key(family, given), Supporter.status == "active"
    )
    if text.get("full_kana"):
        query = query.where(Supporter.kana_key == kana_key(text["full_kana"]))
    matches = db.session.execute(query.limit(4)).all()
    if not matches:
        return None, _(
            "No active Liker is called %(name)s.", name=f"{family} {given}".strip()
        )
    if len(matches) > 1:
        return None, _(
            "Several Likers are called %(name)s (%(numbers)s): give the registration number.",
            name=f"{family} {given}".strip(),
            numbers="、".join(m.registration_number for m in matches),
        )
    return matches[0].id, None


def _count(value, label: str, problems: list[str]) -> int | None:
    text = _text(value)
    if not text:
        return None
    digits = text.translate(str.maketrans("０１２３４５６７８９", "0123456789")).rstrip(
        "人名"
    )
    if digits.isdigit():
        return int(digits)
    problems.append(
        _("%(label)s “%(text)s” is not a number of people.", label=label, text=text)
    )
    return None


def check_attendance(
    table: Table, mapping: dict[int, str], event: Event
) -> RecordCheck:
    """Rows: a day (optional when the event has one), a Liker, a role; or walk-in
    counts of citizens and visitors for a day."""
    check = RecordCheck()
    days = {d.day: d.id for d in event.days}
    numbers: dict = {}
    seen: set[tuple[int, int]] = set()
    for line, cells in table.rows():
        check.rows += 1
        values = {name: cells[int(index)] for index, name in mapping.items()}
        problems: list[str] = []
        day = _date(values.get("day"), problems, _("Day"))
        if day is None and not problems:
            if len(days) == 1:
                day = next(iter(days))
            else:
                problems.append(_("Give the day: this event has several."))
        if day is not None and day not in days:
            problems.append(
                _("%(date)s is not a day of this event.", date=day.isoformat())
            )
        text = {name: _text(value) for name, value in values.items()}
        citizens = _count(values.get("citizens"), _("Citizens"), problems)
        visitors = _count(values.get("visitors"), _("Visitors"), problems)
        names_someone = any(
            text.get(k) for k in ("registration_number", "full_name", "family_name")
        )
        supporter_id = None
        if names_someone:
            supporter_id, problem = find_liker(text, numbers)
            if problem:
                problems.append(problem)
        elif citizens is None and visitors is None and not problems:
            problems.append(_("The row names nobody and counts nobody."))
        role = "participant"
        if text.get("role"):
            role = ATTENDANCE_ROLE_NAMES.get(text["role"], text["role"])
            if role not in ATTENDANCE_ROLES:
                problems.append(
                    _("“%(text)s” is not a role at events.", text=text["role"])
                )
        if problems:
            check.problems[line] = problems
            continue
        day_id = days[day]
        if supporter_id is not None and (day_id, supporter_id) not in seen:
            seen.add((day_id, supporter_id))
            check.planned.append(("attend", day_id, supporter_id, role))
        for group, count in (("citizen", citizens), ("visitor", visitors)):
            if count is not None:
                check.planned.append(("walk_in", day_id, group, count))
    return check


def commit_attendance(check: RecordCheck, event: Event, user=None) -> dict:
    """Write a checked file: check-ins (one per Liker and day; those already there
    stay as they are) and the day's walk-in counts as the sheet gives them."""
    if not check.ok:
        raise ValueError("a file with problems is never written")
    attendance = [
        {"event_day_id": day_id, "supporter_id": supporter_id, "role": role,
         "checked_in_at": utcnow(), "checked_in_by_id": user.id if user else None,
         "method": "import"}
        for kind, day_id, supporter_id, role in check.planned if kind == "attend"
    ]  # fmt: skip
    added = 0
    for start in range(0, len(attendance), 500):
        result = db.session.execute(
            upsert_insert(Attendance)
            .on_conflict_do_nothing(index_elements=["event_day_id", "supporter_id"])
            .returning(Attendance.id),
            attendance[start : start + 500],
        )
        added += len(result.all())
    counts: dict[tuple[int, str], int] = {}
    for kind, day_id, group, count in check.planned:
        if kind == "walk_in":
            counts[(day_id, group)] = counts.get((day_id, group), 0) + count
    for (day_id, group), count in counts.items():
        row = db.session.get(WalkInCount, (day_id, group))
        if row is None:
            db.session.add(WalkInCount(event_day_id=day_id, group=group, count=count))
        else:
            row.count = count
    if added or counts:
        mark_held(event)
    details = {"added": added, "already": len(attendance) - added,
               "walk_ins": {f"{d}:{g}": c for (d, g), c in counts.items()}}  # fmt: skip
    record_event("import", "attendance", event.id, details, user=user)
    return details


def check_memberships(table: Table, mapping: dict[int, str]) -> RecordCheck:
    check = RecordCheck()
    societies = {fold(s.name): s.id for s in db.session.scalars(select(Society))}
    numbers: dict = {}
    for line, cells in table.rows():
        check.rows += 1
        values = {name: cells[int(index)] for index, name in mapping.items()}
        text = {name: _text(value) for name, value in values.items()}
        problems: list[str] = []
        society_id = societies.get(fold(text.get("society", "")))
        if society_id is None:
            problems.append(
                _("“%(text)s” is not a hometown society (add it first).", text=text.get("society", ""))
                if text.get("society") else _("The hometown society is missing.")
            )  # fmt: skip
        supporter_id, problem = find_liker(text, numbers)
        if problem:
            problems.append(problem)
        role = MEMBERSHIP_ROLE_NAMES.get(
            text.get("role", ""), text.get("role") or "member"
        )
        if role not in MEMBERSHIP_ROLES:
            problems.append(
                _("“%(text)s” is not a role in a society.", text=text["role"])
            )
        since: date | None = _date(values.get("since"), problems, _("Member since"))
        if problems:
            check.problems[line] = problems
            continue
        check.planned.append(("member", society_id, supporter_id, role, since))
    return check


def commit_memberships(check: RecordCheck, user=None) -> dict:
    if not check.ok:
        raise ValueError("a file with problems is never written")
    rows = {
        (society_id, supporter_id): {"society_id": society_id, "supporter_id": supporter_id,
                                     "role": role, "since": since}
        for _kind, society_id, supporter_id, role, since in check.planned
    }  # fmt: skip
    values = list(rows.values())
    added = 0
    for start in range(0, len(values), 500):
        result = db.session.execute(
            upsert_insert(SocietyMembership)
            .on_conflict_do_nothing(index_elements=["society_id", "supporter_id"])
            .returning(SocietyMembership.supporter_id),
            values[start : start + 500],
        )
        added += len(result.all())
    details = {"added": added, "already": len(values) - added}
    record_event("import", "society_memberships", None, details, user=user)
    return details
