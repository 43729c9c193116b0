from datetime import datetime

from sqlalchemy import Double, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.timeutil import utcnow

# A starting point for the notice shown with every registration; admins edit it.
DEFAULT_PRIVACY_NOTICE = """\
ご提供いただいた個人情報は、関係人口（登録者）の登録・管理、イベントや交流事業のご案内、\
登録証・名刺の発行、事業の効果測定（個人を特定しない集計）のために利用します。
法令に基づく場合を除き、ご本人の同意なく目的外に利用したり第三者に提供したりすることはありません。
ご本人は、登録内容の開示・訂正・利用停止・削除を求めることができます。"""

# The certificate's text; {…} are filled in per Liker (see crm.documents.placeholders).
DEFAULT_CERTIFICATE_BODY = (
    "あなたは{登録日}に{事業名}に登録され、{市町村名}の関係人口の一員として"
    "まちを応援してくださっています。"
    "そのお気持ちに心から感謝し、ここに感謝状を贈ります。"
)
DEFAULT_CARD_BACK_TEXT = (
    "この名刺の持ち主は{事業名}の登録者です。QRコードから登録を確かめられます。"
)


class TownSettings(db.Model):
    """The one row of settings that makes the CRM this town's."""

    __tablename__ = "town_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_name: Mapped[str] = mapped_column(String(50), default="夕張市")
    local_government_code: Mapped[str] = mapped_column(String(6), default="012092")
    prefecture: Mapped[str] = mapped_column(String(10), default="北海道")
    programme_name: Mapped[str] = mapped_column(String(100), default="夕張Likers!")
    supporter_word: Mapped[str] = mapped_column(String(30), default="Likers")
    mayor_title: Mapped[str] = mapped_column(String(50), default="夕張市長")
    mayor_name: Mapped[str] = mapped_column(String(50), default="")
    number_prefix: Mapped[str] = mapped_column(String(10), default="YL-")
    number_digits: Mapped[int] = mapped_column(default=5)
    privacy_policy_version: Mapped[str] = mapped_column(String(20), default="1.0")
    privacy_policy_text: Mapped[str | None] = mapped_column(
        Text, default=DEFAULT_PRIVACY_NOTICE
    )
    # Public self-registrations wait in the staff review queue (true) or are
    # active at once (false).
    registration_review: Mapped[bool] = mapped_column(
        default=True, server_default=true()
    )
    # Printer correction for card sheets, in mm: x to the right, y down.
    card_offset_x: Mapped[float] = mapped_column(
        Double, default=0.0, server_default="0"
    )
    card_offset_y: Mapped[float] = mapped_column(
        Double, default=0.0, server_default="0"
    )
    # Documents: the certificate (登録感謝状) and the card's title and back side.
    certificate_title: Mapped[str] = mapped_column(
        String(30), default="感謝状", server_default="感謝状"
    )
    certificate_body: Mapped[str] = mapped_column(
        Text, default=DEFAULT_CERTIFICATE_BODY, server_default=DEFAULT_CERTIFICATE_BODY
    )
    certificate_layout: Mapped[str] = mapped_column(
        String(20), default="vertical", server_default="vertical"
    )
    # Horizontal certificates may use Western dates; vertical ones always use the era.
    certificate_date_style: Mapped[str] = mapped_column(
        String(10), default="era", server_default="era"
    )
    card_title: Mapped[str] = mapped_column(
        String(50), default="{呼称} 登録者", server_default="{呼称} 登録者"
    )
    card_back_text: Mapped[str] = mapped_column(
        Text, default=DEFAULT_CARD_BACK_TEXT, server_default=DEFAULT_CARD_BACK_TEXT
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def with_defaults(cls) -> "TownSettings":
        """An unsaved row holding the column defaults (Yubari's, as an example)."""
        return cls(
            **{
                column.key: column.default.arg
                for column in cls.__table__.columns
                if column.default is not None and not column.default.is_callable
            }
        )

    def format_number(self, value: int) -> str:
        return f"{self.number_prefix}{value:0{self.number_digits}d}"
