from datetime import timedelta

from crm.events.services import EventData, save_event
from crm.extensions import db
from crm.supporters.services import SupporterData, register_supporter
from crm.timeutil import today_jst


def supporter_data(**overrides) -> SupporterData:
    """A Liker living in Yubari, with any field overridden."""
    values = dict(
        family_name="夕張",
        given_name="花子",
        family_name_kana="ユウバリ",
        given_name_kana="ハナコ",
        prefecture="北海道",
        municipality="夕張市",
    )
    values.update(overrides)
    return SupporterData(**values)


def make_supporter(**overrides):
    supporter = register_supporter(supporter_data(**overrides))
    db.session.flush()
    return supporter


def make_event(days: int = 1, first_day=None, **overrides):
    """An event with consecutive days, starting today unless told otherwise."""
    start = first_day or today_jst()
    values = dict(
        title="まちあるき 本町編",
        days=[start + timedelta(days=i) for i in range(days)],
    )
    values.update(overrides)
    event = save_event(None, EventData(**values))
    db.session.flush()
    return event
