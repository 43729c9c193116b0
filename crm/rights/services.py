"""Stopping use (利用停止) and erasing (消去) a Liker. Callers own the commit.

Stopped: the record stays as it is, but the Liker is in no list, search, export,
print selection or mailing and their QR page says "no longer valid"; staff can
resume use. Erased: the personal data is gone for good; what the ministry report
counts by stays, in a form that no longer points at the person (see
coarse_birth), so every figure for every earlier day stays the same.
"""

import secrets
from datetime import date, timedelta

from sqlalchemy import delete, select, update

from crm.audit.services import record_event
from crm.documents.models import QrCode
from crm.events.models import Guest
from crm.extensions import db
from crm.registration.models import Registration
from crm.reports.queries import age_band
from crm.rights.models import Correction
from crm.supporters.models import STATUSES, Supporter, supporter_tags
from crm.supporters.tokens import new_public_token
from crm.timeutil import today_jst, utcnow

ERASED_NAME = "消去済み"
# Personal columns emptied by erasure (registration number, dates, residence,
# prefecture, channel and categories stay: the report counts by them).
WIPED_COLUMNS = {
    "given_name": "", "family_name_kana": "", "given_name_kana": "",
    "name_romaji": None, "gender": None, "email": None, "phone": None,
    "postal_code": None, "municipality": None, "address": None, "country": None,
    "withdrawal_reason": None, "notes": None, "news_opt_in": False,
    "show_name_publicly": False, "name_key": "", "given_name_key": "",
    "kana_key": "", "given_kana_key": "", "email_key": None, "phone_key": None,
}  # fmt: skip


class RightsError(ValueError):
    """The request does not fit the record (e.g. resuming an erased Liker)."""


def stop_use(supporter: Supporter, user=None) -> None:
    """利用停止: keep the record, take the Liker out of every list and page."""
    if supporter.status not in STATUSES:
        raise RightsError(f"cannot stop the use of a {supporter.status} record")
    supporter.status = "stopped"
    supporter.use_stopped_at = utcnow()
    supporter.updated_by_id = user.id if user else None
    record_event("stop_use", "supporter", supporter.id, user=user)


def resume_use(supporter: Supporter, user=None) -> None:
    """Undo a stop: active again, or withdrawn if the Liker had withdrawn."""
    if supporter.status != "stopped":
        raise RightsError(f"cannot resume the use of a {supporter.status} record")
    supporter.status = "withdrawn" if supporter.withdrawn_on else "active"
    supporter.use_stopped_at = None
    supporter.updated_by_id = user.id if user else None
    record_event("resume_use", "supporter", supporter.id, user=user)


# --- erasure ------------------------------------------------------------------


def coarse_birth(
    birth_date: date | None, birth_year: int | None, first: date, last: date
) -> tuple[date | None, int | None]:
    """The least precise birth that puts the Liker in the same age band as the
    exact one on every day from first to last (the days they count as registered).

    Tried in turn: nothing (no such day), the year only, the first of the month,
    and only if a band boundary (a 20th, 30th … birthday) falls in between, the
    date itself: without it, a report as of a day near that birthday would change.
    """
    if last < first or (birth_date is None and birth_year is None):
        return None, None
    year = birth_date.year if birth_date else birth_year
    candidates = [(None, year)]
    if birth_date is not None:
        candidates += [(birth_date.replace(day=1), year), (birth_date, year)]
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    exact = [age_band(birth_date, birth_year, day) for day in days]
    for candidate in candidates:
        if all(
            age_band(*candidate, day) == band
            for day, band in zip(days, exact, strict=True)
        ):
            return candidate
    return birth_date, year


def _merged_into(supporter_id: int) -> list[Supporter]:
    """Every record merged into this one, also through earlier merges."""
    found: list[Supporter] = []
    wanted = [supporter_id]
    while wanted:
        rows = list(
            db.session.scalars(
                select(Supporter).where(
                    Supporter.merged_into_id.in_(wanted), Supporter.status == "merged"
                )
            )
        )
        found += rows
        wanted = [r.id for r in rows]
    return found


def _anonymise(supporter: Supporter, today: date, now, counted: bool) -> None:
    """Wipe one record; counted: the report counts it (a merged-away one not)."""
    counted_until = (
        supporter.withdrawn_on - timedelta(days=1)
        if supporter.withdrawn_on
        else today - timedelta(days=1)
    )
    if not counted:
        counted_until = supporter.registered_on - timedelta(days=1)
    supporter.birth_date, supporter.birth_year = coarse_birth(
        supporter.birth_date, supporter.birth_year, supporter.registered_on,
        counted_until,
    )  # fmt: skip
    supporter.family_name = ERASED_NAME
    for column, value in WIPED_COLUMNS.items():
        setattr(supporter, column, value)
    old_token = supporter.public_token
    supporter.public_token = new_public_token()  # never printed: the page is gone
    db.session.execute(delete(QrCode).where(QrCode.data.like(f"%/v/{old_token}")))
    db.session.execute(
        delete(supporter_tags).where(supporter_tags.c.supporter_id == supporter.id)
    )
    db.session.execute(
        update(Correction)
        .where(Correction.supporter_id == supporter.id)
        .values(old_value=None, new_value=None, values_erased=True),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(Guest)
        .where(Guest.supporter_id == supporter.id)
        .values(name=ERASED_NAME, name_kana=None, contact=None, notes=None),
        execution_options={"synchronize_session": False},
    )
    # A hash of the reading and email or phone: recomputable, so replaced.
    db.session.execute(
        update(Registration)
        .where(Registration.supporter_id == supporter.id)
        .values(identity_key=secrets.token_hex(32)),
        execution_options={"synchronize_session": False},
    )
    supporter.erased_at = now
    supporter.use_stopped_at = supporter.use_stopped_at or now


def erase(supporter: Supporter, user=None, today: date | None = None) -> None:
    """消去: anonymise the Liker (and the records merged into them) for good.

    A Liker still registered withdraws as of today: from today on they count as
    anyone who left; every figure as of an earlier day stays as it was.
    """
    if supporter.status not in (*STATUSES, "stopped"):
        raise RightsError(f"cannot erase a {supporter.status} record")
    today = today or today_jst()
    now = utcnow()
    if supporter.withdrawn_on is None:
        supporter.withdrawn_on = today
    merged = _merged_into(supporter.id)
    for record in [supporter, *merged]:
        _anonymise(record, today, now, counted=record is supporter)
    supporter.status = "erased"
    supporter.updated_by_id = user.id if user else None
    db.session.flush()
    db.session.expire_all()
    record_event(
        "erase", "supporter", supporter.id,
        {"merged_records": [m.id for m in merged]} if merged else None, user=user,
    )  # fmt: skip
