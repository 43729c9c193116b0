from crm.extensions import db
from crm.supporters.services import SupporterData, register_supporter


def make_supporter(**overrides):
    values = dict(
        family_name="夕張",
        given_name="花子",
        family_name_kana="ユウバリ",
        given_name_kana="ハナコ",
        prefecture="北海道",
        municipality="夕張市",
    )
    values.update(overrides)
    supporter = register_supporter(SupporterData(**values))
    db.session.flush()
    return supporter
