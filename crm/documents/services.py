"""Documents for Likers: what goes on them, and the ledger of what was issued."""

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import insert, select

from crm.admin.models import TownSettings
from crm.audit.services import record_event
from crm.documents.models import Issuance
from crm.extensions import db
from crm.printing.business_card import (
    CardData,
    Offsets,
    render_sheets,
    render_single_cards,
)
from crm.printing.fonts import font_set
from crm.supporters.models import Supporter
from crm.supporters.tokens import public_url
from crm.timeutil import utcnow


def card_data(supporter: Supporter, settings: TownSettings, base_url: str) -> CardData:
    """What a Liker's card shows; the QR code holds the public address only."""
    return CardData(
        programme=settings.programme_name,
        title=f"{settings.programme_name} {settings.supporter_word or 'Likers'}",
        name=supporter.full_name,
        reading=supporter.name_romaji or supporter.full_kana,
        number=supporter.registration_number,
        url=public_url(base_url, supporter.public_token),
    )


def public_base_url_is_usable(base_url: str, app) -> bool:
    """QR codes must hold the address people reach from outside, not this PC's.

    Printed cards cannot be corrected, so a loopback default is refused except
    while testing or developing.
    """
    host = urlsplit(base_url or "").hostname or ""
    loopback = host in ("localhost", "") or host.startswith("127.") or host == "::1"
    return not loopback or app.testing or app.debug


def card_offsets(settings: TownSettings) -> Offsets:
    return Offsets(x=settings.card_offset_x or 0.0, y=settings.card_offset_y or 0.0)


def render_cards(
    supporters: list[Supporter],
    layout: str,
    settings: TownSettings,
    base_url: str,
    font_dirs: tuple[str, ...] = (),
) -> bytes:
    """The business cards of these Likers as PDF: A4 sheets of 10, or one per page.

    Raises FontsMissing or TextProblem (a name that cannot be printed right).
    """
    fonts = font_set("gothic", font_dirs)
    cards = [card_data(s, settings, base_url) for s in supporters]
    if layout == "single":
        return render_single_cards(cards, fonts)
    return render_sheets(cards, fonts, card_offsets(settings))


def record_issues(supporter_ids: Iterable[int], kind: str, user=None) -> int:
    """Write one ledger row per Liker; a Liker who had one before gets a reissue."""
    ids = list(dict.fromkeys(supporter_ids))
    if not ids:
        return 0
    issued_before = set(
        db.session.scalars(
            select(Issuance.supporter_id)
            .where(Issuance.kind == kind, Issuance.supporter_id.in_(ids))
            .distinct()
        )
    )
    now = utcnow()
    db.session.execute(
        insert(Issuance),
        [
            {
                "supporter_id": supporter_id, "kind": kind, "issued_at": now,
                "issued_by_id": user.id if user else None,
                "reissue": supporter_id in issued_before,
            }
            for supporter_id in ids
        ],
    )  # fmt: skip
    record_event("print", kind, None, {"supporter_ids": ids}, user=user)
    return len(ids)
