"""Recording consents and their withdrawal. Callers own the commit.

Rows are only ever added: the history shows who gave or withdrew what, when,
through which channel and under which version of the purpose-of-use notice. The
Liker's own flags (news_opt_in, show_name_publicly) carry the current state that
lists, exports and the public page read, and change in the same transaction.
"""

from collections.abc import Iterable

from sqlalchemy import insert, select

from crm.audit.services import record_event
from crm.consents.models import CHANNELS, KINDS, ConsentRecord
from crm.extensions import db
from crm.timeutil import utcnow

# The Liker's column that holds the current state of an opt-in.
FLAGS = {"news": "news_opt_in", "public_name": "show_name_publicly"}
# Opt-ins staff may record as withdrawn (the privacy notice itself is withdrawn by
# stopping the use of the record as a whole).
WITHDRAWABLE = tuple(FLAGS)


class ConsentError(ValueError):
    """An unknown kind or channel, or a withdrawal of something not given."""


def _user_id(user) -> int | None:
    return getattr(user, "id", None) if user is not None else None


def record_consent(
    supporter_id: int,
    kind: str,
    granted: bool,
    channel: str,
    notice_version: str | None,
    user=None,
) -> ConsentRecord:
    if kind not in KINDS or channel not in CHANNELS:
        raise ConsentError(f"unknown consent kind or channel: {kind!r}, {channel!r}")
    record = ConsentRecord(
        supporter_id=supporter_id,
        kind=kind,
        granted=granted,
        notice_version=notice_version,
        channel=channel,
        recorded_at=utcnow(),
        recorded_by_id=_user_id(user),
    )
    db.session.add(record)
    return record


def initial_consents(news: bool, public_name: bool) -> list[str]:
    """The kinds a new registration grants: always the notice, then the opt-ins."""
    return (
        ["privacy_notice"]
        + (["news"] if news else [])
        + (["public_name"] if public_name else [])
    )


def record_registration_consents(
    supporter, channel: str, notice_version: str | None, user=None
) -> None:
    """The consents given with a new registration, read from the Liker's flags."""
    for kind in initial_consents(supporter.news_opt_in, supporter.show_name_publicly):
        record_consent(supporter.id, kind, True, channel, notice_version, user)


def record_bulk_registration_consents(
    rows: Iterable[tuple[int, bool, bool]],
    channel: str,
    notice_version: str | None,
    user=None,
) -> int:
    """The same for many new Likers at once (an import): (id, news, public_name)."""
    now = utcnow()
    values = [
        {
            "supporter_id": supporter_id,
            "kind": kind,
            "granted": True,
            "notice_version": notice_version,
            "channel": channel,
            "recorded_at": now,
            "recorded_by_id": _user_id(user),
        }
        for supporter_id, news, public_name in rows
        for kind in initial_consents(news, public_name)
    ]
    if values:
        db.session.execute(insert(ConsentRecord), values)
    return len(values)


def record_flag_changes(
    supporter, before: dict[str, bool], channel: str, notice_version, user=None
) -> list[str]:
    """After an edit: a granted or withdrawn row for each opt-in that changed."""
    changed = []
    for kind, column in FLAGS.items():
        now = bool(getattr(supporter, column))
        if column in before and bool(before[column]) != now:
            record_consent(supporter.id, kind, now, channel, notice_version, user)
            changed.append(kind)
    return changed


def withdraw_consent(supporter, kind: str, user=None, channel: str = "staff"):
    """Withdraw an opt-in at once: the flag goes off in the same transaction, so
    the next list, mailing export or public page already leaves it out."""
    if kind not in WITHDRAWABLE:
        raise ConsentError(f"{kind!r} cannot be withdrawn here")
    column = FLAGS[kind]
    if not getattr(supporter, column):
        raise ConsentError(f"{kind!r} was not given")
    setattr(supporter, column, False)
    supporter.updated_by_id = _user_id(user)
    record = record_consent(supporter.id, kind, False, channel, None, user)
    record_event(
        "withdraw_consent", "supporter", supporter.id, {"kind": kind}, user=user
    )
    return record


def consents_of(supporter_id: int) -> list[ConsentRecord]:
    """Every consent row of a Liker, the oldest first (for the disclosure package)."""
    return list(
        db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.supporter_id == supporter_id)
            .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
        )
    )


def current_consents(supporter_id: int) -> dict[str, ConsentRecord]:
    """The newest row of each kind: what holds now."""
    current = {}
    for record in consents_of(supporter_id):
        current[record.kind] = record
    return current
