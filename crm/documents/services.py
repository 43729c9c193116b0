"""Documents for Likers: what goes on them, and the ledger of what was issued."""

import io
from collections.abc import Callable, Iterable
from datetime import date
from urllib.parse import urlsplit

from flask_babel import gettext as _
from reportlab.lib.utils import ImageReader
from sqlalchemy import insert, select

from crm.admin.models import TownSettings
from crm.audit.services import record_event
from crm.documents.models import DocumentImage, Issuance
from crm.documents.placeholders import fill
from crm.documents.qr_store import matrices_for
from crm.eras import format_era, format_era_kanji, format_japanese
from crm.extensions import db
from crm.printing.business_card import (
    CardData,
    Offsets,
    render_sheets,
    render_single_cards,
)
from crm.printing.certificate import CertificateData, Images, render_certificates
from crm.printing.fonts import font_set
from crm.printing.qr import known_qr_codes
from crm.printing.text import TextProblem
from crm.supporters.models import Supporter
from crm.supporters.tokens import public_url
from crm.timeutil import today_jst, utcnow


def public_base_url_message() -> str:
    """For staff, when QR codes would point to this PC (see public_base_url_is_usable)."""
    return _("The public address for QR codes is not set (CRM_PUBLIC_BASE_URL), so "
             "the codes would point to this PC. Ask IT staff to set it.")  # fmt: skip


def fonts_missing_message() -> str:
    """For staff, when no Japanese TrueType font is installed."""
    return _("The Japanese fonts for printing are not installed. Ask IT staff "
             "to install IPAex fonts (see the README).")  # fmt: skip


def text_problem_message(problem: TextProblem) -> str:
    """For staff, when a text cannot be printed: a character no font has, or too long."""
    if problem.missing:
        return _("No font can show %(chars)s in “%(text)s”. Nothing was printed.",
                 chars="".join(problem.missing), text=problem.text)  # fmt: skip
    return _("“%(text)s” is too long for its place even at the smallest size. "
             "Nothing was printed.", text=problem.text)  # fmt: skip


def placeholder_values(
    supporter: Supporter, settings: TownSettings, issued_on: date, kanji: bool = False
) -> dict[str, str]:
    """What {事業名}, {氏名} … stand for on this Liker's documents.

    kanji: dates in kanji numerals, for vertical writing.
    """
    era = format_era_kanji if kanji else format_era
    return {
        "事業名": settings.programme_name,
        "市町村名": settings.municipality_name,
        "呼称": settings.supporter_word or "",
        "氏名": supporter.full_name,
        "登録番号": supporter.registration_number,
        "登録日": era(supporter.registered_on),
        "発行日": era(issued_on),
    }


def card_data(supporter: Supporter, settings: TownSettings, base_url: str) -> CardData:
    """What a Liker's card shows; the QR code holds the public address only."""
    values = placeholder_values(supporter, settings, today_jst())
    return CardData(
        programme=settings.programme_name,
        title=fill(settings.card_title or "", values),
        name=supporter.full_name,
        reading=supporter.name_romaji or supporter.full_kana,
        number=supporter.registration_number,
        url=public_url(base_url, supporter.public_token),
        back_text=fill(settings.card_back_text or "", values),
    )


def certificate_data(
    supporter: Supporter,
    settings: TownSettings,
    base_url: str,
    layout: str,
    issued_on: date,
) -> CertificateData:
    """What a Liker's certificate says.

    The vertical layout always dates in the era, in kanji numerals, as a 賞状 does;
    the horizontal one follows the date setting (era or Western).
    """
    vertical = layout == "vertical"
    values = placeholder_values(supporter, settings, issued_on, kanji=vertical)
    if vertical:
        issued = format_era_kanji(issued_on)
    elif settings.certificate_date_style == "western":
        issued = format_japanese(issued_on)
    else:
        issued = format_era(issued_on)
    return CertificateData(
        title=settings.certificate_title,
        name=supporter.full_name,
        body=fill(settings.certificate_body, values),
        date=issued,
        issuer_title=settings.mayor_title,
        issuer_name=settings.mayor_name or "",
        number=supporter.registration_number,
        url=public_url(base_url, supporter.public_token),
        programme=settings.programme_name,
    )


def document_images() -> Images:
    """The uploaded logo and seal, ready for reportlab (None where not uploaded)."""
    found = {
        image.kind: ImageReader(io.BytesIO(image.content))
        for image in db.session.scalars(select(DocumentImage))
    }
    return Images(logo=found.get("logo"), seal=found.get("seal"))


def sample_supporter(settings: TownSettings) -> Supporter:
    """A Liker who exists only on preview pages: rare kanji, a long-ish reading.

    Never added to the session.
    """
    return Supporter(
        family_name="𠮷田",
        given_name="髙子",
        family_name_kana="ヨシダ",
        given_name_kana="タカコ",
        registration_number=settings.format_number(12),
        registered_on=today_jst(),
        public_token="preview-sample-token-0000",  # noqa: S106 (not a secret)
        status="active",
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
    options: dict | None = None,
    progress: Callable[[int], None] | None = None,
    store_codes: bool = True,
) -> bytes:
    """The business cards of these Likers as PDF: A4 sheets of 10, or one per page.

    options: {"back": bool} adds the back side after each page, for duplex
    printing; {"crop_marks": bool} adds cutting marks around a sheet's grid.

    Raises FontsMissing or TextProblem (a name that cannot be printed right).
    """
    options = options or {}
    fonts = font_set("gothic", font_dirs, allow_cid=bool(options.get("allow_cid")))
    cards = [card_data(s, settings, base_url) for s in supporters]
    images = document_images()
    back = bool(options.get("back"))
    # Codes kept since their tokens were issued; missing ones are encoded and kept.
    codes = matrices_for((card.url for card in cards), store=store_codes)
    with known_qr_codes(codes):
        if layout == "single":
            return render_single_cards(
                cards, fonts, logo=images.logo, back=back, progress=progress
            )
        return render_sheets(
            cards,
            fonts,
            card_offsets(settings),
            logo=images.logo,
            back=back,
            crop_marks=bool(options.get("crop_marks")),
            progress=progress,
            first_cell=first_cell_option(options),
        )


def first_cell_option(options: dict) -> int:
    """The sheet cell (0–9) the first card goes to; 0 when absent or unusable."""
    value = options.get("first_cell", 0)
    try:
        cell = int(value)
    except (TypeError, ValueError):
        return 0
    return cell if 0 <= cell < 10 else 0


def render_certificates_for(
    supporters: list[Supporter],
    layout: str,
    settings: TownSettings,
    base_url: str,
    font_dirs: tuple[str, ...] = (),
    issued_on: date | None = None,
    progress: Callable[[int], None] | None = None,
    store_codes: bool = True,
    allow_cid: bool = False,
) -> bytes:
    """The certificates of these Likers as one PDF, one A4 page each.

    Raises FontsMissing or TextProblem, as render_cards does.
    """
    issued_on = issued_on or today_jst()
    fonts = font_set("mincho", font_dirs, allow_cid=allow_cid)
    data = [
        certificate_data(s, settings, base_url, layout, issued_on) for s in supporters
    ]
    codes = matrices_for((d.url for d in data), store=store_codes)
    with known_qr_codes(codes):
        return render_certificates(data, layout, fonts, document_images(), progress)


def render_documents(
    kind: str,
    supporters: list[Supporter],
    layout: str,
    settings: TownSettings,
    base_url: str,
    font_dirs: tuple[str, ...] = (),
    options: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """One PDF of cards or certificates for these Likers.

    options: {"back": bool, "crop_marks": bool, "first_cell": 0-9} for cards;
    {"allow_cid": True} prints with reportlab's CID fonts (not embedded) when no
    Japanese TrueType font is installed, after staff were warned. progress(done) is called
    now and then with the number of documents drawn so far, for background jobs.
    """
    store = not (options or {}).get("preview")  # a sample's code is not kept
    if kind == "card":
        pdf = render_cards(
            supporters, layout, settings, base_url, font_dirs, options, progress,
            store_codes=store,
        )  # fmt: skip
    elif kind == "certificate":
        pdf = render_certificates_for(
            supporters, layout, settings, base_url, font_dirs, progress=progress,
            store_codes=store, allow_cid=bool((options or {}).get("allow_cid")),
        )  # fmt: skip
    else:
        raise ValueError(f"unknown document kind {kind!r}")
    if progress is not None:
        progress(len(supporters))
    return pdf


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
