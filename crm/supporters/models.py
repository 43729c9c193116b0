from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.timeutil import utcnow

# Byte-order comparison on PostgreSQL, so prefix searches use plain B-tree ranges.
SearchKey = String(300).with_variant(String(300, collation="C"), "postgresql")

RESIDENCES = ("in_town", "in_prefecture", "outside_prefecture", "overseas", "unknown")
STATUSES = ("active", "withdrawn")
# A Liker whose use was stopped (利用停止, reversible) or whose data was erased
# (消去, anonymised for good): kept and counted in the reports, but in no list,
# search, export, print selection or public page (crm.rights).
STOPPED_STATUSES = ("stopped", "erased")
# Also stored, never listed, exported or counted: "pending" (a public registration
# waiting for review), "rejected" (refused in review) and "merged".

supporter_categories = Table(
    "supporter_categories",
    db.metadata,
    Column(
        "supporter_id",
        ForeignKey("supporters.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("category_id", ForeignKey("categories.id"), primary_key=True, index=True),
)

supporter_tags = Table(
    "supporter_tags",
    db.metadata,
    Column(
        "supporter_id",
        ForeignKey("supporters.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


class Category(db.Model):
    """A relationship category (出身者, ふるさと納税者, …), edited by admins."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Channel(db.Model):
    """How a Liker found the programme, edited by admins."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Counter(db.Model):
    """Named counters taken under a row lock: gapless registration numbers."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


# The columns of ix_supporters_report_figures (migration 0014).
REPORT_FIGURE_COLUMNS = (
    "registered_on", "status", "withdrawn_on", "id", "residence", "prefecture",
    "channel_id", "birth_date", "birth_year", "card_issued_at", "certificate_issued_at",
)  # fmt: skip


class Supporter(db.Model):
    """A registered supporter: the UI calls them by the programme's word (Likers)."""

    __tablename__ = "supporters"
    __table_args__ = (
        Index("ix_supporters_status_kana", "status", "kana_key", "id"),
        # The report's Likers figures read every Liker's registration, status and
        # breakdown columns: from this index alone, never the wide table rows
        # (PostgreSQL: 18 MB instead of 140–300 MB at 200,000 Likers). Its first
        # column also serves what the plain index on registered_on served.
        Index(
            "ix_supporters_report_figures",
            *REPORT_FIGURE_COLUMNS,
        ),
        # Duplicate checks look names up (same name and postal code): with only
        # the wide search index, PostgreSQL read the whole table for 100 names
        # when the statistics said hundreds share each one (the demo data).
        Index("ix_supporters_name_postal", "name_key", "postal_code"),
        # The few who withdrew: the report finds the records that are not
        # registered Likers on a date from indexes (reports.queries.not_counted).
        Index(
            "ix_supporters_withdrawn_on",
            "withdrawn_on",
            "id",
            postgresql_where=text("withdrawn_on IS NOT NULL"),
            sqlite_where=text("withdrawn_on IS NOT NULL"),
        ),
        # The report reads each participant's residence and first day from here.
        Index("ix_supporters_participant", "id", "residence", "first_participated_on"),
        # The list filtered by residence: its count and first page from the index
        # alone (migration 0013; a quarter of the table read from disk before).
        Index(
            "ix_supporters_residence_status_kana",
            "residence",
            "status",
            "kana_key",
            "id",
        ),
        # One per search key: a prefix range on the key, then status, kana_key and
        # id from the index alone (queries.matching_keys), never the table rows.
        *(
            Index(f"ix_supporters_search_{key}", key, "status", "kana_key", "id")
            for key in (
                "name_key",
                "given_name_key",
                "given_kana_key",
                "email_key",
                "phone_key",
            )
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_number: Mapped[str] = mapped_column(String(32), unique=True)

    # As typed: never normalised.
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100), default="")
    family_name_kana: Mapped[str] = mapped_column(String(100))
    given_name_kana: Mapped[str] = mapped_column(String(100), default="")
    name_romaji: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None]
    birth_year: Mapped[int | None]
    gender: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    postal_code: Mapped[str | None] = mapped_column(String(8))
    prefecture: Mapped[str | None] = mapped_column(String(10))
    municipality: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(60))

    # Derived from the address and the town settings, never typed.
    residence: Mapped[str] = mapped_column(String(20), default="unknown", index=True)

    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id"), index=True
    )
    registered_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="active")
    withdrawn_on: Mapped[date | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    # 利用停止 and 消去 (crm.rights): when, and the status is "stopped" / "erased".
    use_stopped_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    privacy_policy_version: Mapped[str | None] = mapped_column(String(20))
    privacy_consented_at: Mapped[datetime | None]
    news_opt_in: Mapped[bool] = mapped_column(default=False)
    # Consent to show the name on the public page behind the QR code.
    show_name_publicly: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    notes: Mapped[str | None] = mapped_column(Text)
    # A hometown society credited with bringing this Liker in.
    referral_society_id: Mapped[int | None] = mapped_column(
        ForeignKey("societies.id"), index=True
    )
    # The Liker whose public page's "join" link this person registered through.
    introduced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("supporters.id", ondelete="SET NULL"), index=True
    )
    # For the report, kept by triggers on attendances and issuances (migration
    # 0009), never written by the app: the earliest event day the Liker attended,
    # and when their first card and first certificate were printed (UTC).
    first_participated_on: Mapped[date | None]
    card_issued_at: Mapped[datetime | None]
    certificate_issued_at: Mapped[datetime | None]
    # Set when this record was merged into another (status "merged"): its QR code
    # leads to the survivor.
    # Indexed (0013): the Liker page lists the records merged into this one.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("supporters.id"), index=True
    )
    # Printed in the QR code of the certificate and card; replaced to revoke.
    public_token: Mapped[str] = mapped_column(String(40), unique=True)

    # Search keys (crm.japanese), indexed for prefix search.
    name_key: Mapped[str] = mapped_column(SearchKey, default="")
    given_name_key: Mapped[str] = mapped_column(SearchKey, default="")
    kana_key: Mapped[str] = mapped_column(SearchKey, default="", index=True)
    given_kana_key: Mapped[str] = mapped_column(SearchKey, default="")
    email_key: Mapped[str | None] = mapped_column(SearchKey)
    phone_key: Mapped[str | None] = mapped_column(SearchKey)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    categories: Mapped[list[Category]] = relationship(
        secondary=supporter_categories, order_by=Category.position
    )
    tags: Mapped[list[Tag]] = relationship(secondary=supporter_tags, order_by=Tag.name)
    channel: Mapped[Channel | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()

    @property
    def full_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}".strip()

    @property
    def use_stopped(self) -> bool:
        """Use stopped or data erased: shown to staff on the record only."""
        return self.status in STOPPED_STATUSES

    @property
    def is_withdrawn(self) -> bool:
        return self.status == "withdrawn"
