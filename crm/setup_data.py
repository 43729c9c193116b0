"""Reference data a new installation starts with: categories, channels, themes…"""

from sqlalchemy import select

from crm.admin.services import ensure_settings
from crm.events.models import Theme
from crm.extensions import db
from crm.supporters.models import Category, Channel, Counter
from crm.supporters.services import SUPPORTER_COUNTER

DEFAULT_CATEGORIES = (
    "出身者", "家族・親族", "勤務・在住経験", "ファン", "ふるさと納税者", "二地域居住", "移住検討中", "市民",
)  # fmt: skip
DEFAULT_CHANNELS = (
    "イベント会場", "ふるさと会", "ふるさと納税", "ウェブサイト", "SNS", "知人の紹介", "市役所窓口", "その他",
)  # fmt: skip

DEFAULT_THEMES = (
    "歴史・文化の継承", "集落コミュニティの再構築", "観光・PR", "移住・定住", "子ども・教育",
)  # fmt: skip


def seed_reference_data() -> None:
    """Create what is missing; never touches what admins have edited."""
    ensure_settings()
    for model, names in (
        (Category, DEFAULT_CATEGORIES),
        (Channel, DEFAULT_CHANNELS),
        (Theme, DEFAULT_THEMES),
    ):
        if db.session.scalar(select(model.id).limit(1)) is None:
            db.session.add_all(
                model(name=n, position=i) for i, n in enumerate(names, 1)
            )
    if db.session.get(Counter, SUPPORTER_COUNTER) is None:
        db.session.add(Counter(name=SUPPORTER_COUNTER, value=0))
    db.session.flush()
