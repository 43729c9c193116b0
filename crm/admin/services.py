"""Town settings, reference lists and staff accounts, as plain functions."""

import re
import unicodedata

from flask import g, has_app_context
from sqlalchemy import func, select

from crm.admin.models import TownSettings
from crm.extensions import db

PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip


def get_settings() -> TownSettings:
    """The town's settings row, or unsaved defaults before set-up has run."""
    if has_app_context() and "town_settings" in g:
        return g.town_settings
    settings = db.session.scalar(
        select(TownSettings).order_by(TownSettings.id).limit(1)
    )
    if settings is None:
        settings = TownSettings.with_defaults()
    if has_app_context():
        g.town_settings = settings
    return settings


def ensure_settings() -> TownSettings:
    """The settings row, created with defaults when missing."""
    settings = get_settings()
    if settings.id is None:
        db.session.add(settings)
        db.session.flush()
    return settings


def local_government_code_is_valid(code: str) -> bool:
    """全国地方公共団体コード: five digits and a check digit (JIS X 0402)."""
    code = unicodedata.normalize("NFKC", code or "").strip()
    if not re.fullmatch(r"\d{6}", code):
        return False
    total = sum(int(d) * w for d, w in zip(code[:5], (6, 5, 4, 3, 2), strict=True))
    return int(code[5]) == (11 - total % 11) % 10


def next_position(model) -> int:
    return (db.session.scalar(select(func.max(model.position))) or 0) + 1
