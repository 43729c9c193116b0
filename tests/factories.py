from crm.extensions import db
from crm.supporters.services import SupporterData, register_supporter


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
