"""QR codes kept in the database (qr_codes): encoded once, read back for reprints.

A Liker's code is computed when the token is issued or reissued; printing reads the
stored codes in a few queries and encodes only the ones still missing, which it
stores too. Nothing here commits: the request or command that prints commits.
"""

import logging
from collections.abc import Iterable, Mapping

from flask import current_app
from sqlalchemy import select

from crm.database import upsert_insert
from crm.documents.models import QrCode
from crm.extensions import db
from crm.printing.qr import QrModules, encode_qr, pack_matrix, unpack_matrix
from crm.supporters.tokens import public_url

log = logging.getLogger(__name__)
CHUNK = 500  # URLs per query, well under every driver's parameter limit


def pack(matrix) -> QrModules:
    """Rows of booleans (true is dark) as stored: side and bit-packed rows."""
    return pack_matrix(matrix)


def unpack(modules: QrModules) -> tuple[tuple[bool, ...], ...]:
    return unpack_matrix(modules)


def stored_matrices(urls: Iterable[str]) -> dict[str, QrModules]:
    """The stored codes of these URLs, by URL; a URL without one is left out."""
    wanted = list(dict.fromkeys(urls))
    found: dict[str, QrModules] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = db.session.execute(
            select(QrCode.data, QrCode.side, QrCode.modules).where(
                QrCode.data.in_(wanted[start : start + CHUNK])
            )
        )
        for data, side, modules in rows:
            if len(modules) == side * ((side + 7) // 8):  # else encoded again
                found[data] = QrModules(side, bytes(modules))
    return found


def store_matrices(codes: Mapping[str, QrModules]) -> None:
    """Insert these codes; one already there (another worker's) is left as it is."""
    rows = [
        {"data": data, "side": modules.side, "modules": modules.packed}
        for data, modules in codes.items()
    ]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(
            upsert_insert(QrCode).on_conflict_do_nothing(index_elements=["data"]),
            rows[start : start + CHUNK],
        )


def matrices_for(urls: Iterable[str], store: bool = True) -> dict[str, QrModules]:
    """The code of every URL: stored ones read back, missing ones encoded.

    The missing ones are stored too, unless store is false (a GET request, say,
    which must not write).
    """
    wanted = list(dict.fromkeys(urls))
    codes = stored_matrices(wanted)
    missing = {url: encode_qr(url) for url in wanted if url not in codes}
    if store:
        store_matrices(missing)
    codes.update(missing)
    return codes


def remember_qr(url: str) -> QrModules:
    """Encode the code of url and store it; a row already there stays as it is."""
    modules = encode_qr(url)
    store_matrices({url: modules})
    return modules


def remember_token_qrs(tokens: Iterable[str]) -> None:
    """Store the codes of these public tokens' URLs, ready for printing.

    Only when CRM_PUBLIC_BASE_URL is an address cards may carry (the check the print
    views make): no code of this PC's address is kept in production. A failure is
    logged and leaves the caller's transaction intact (savepoint): a registration
    never fails for a QR code.
    """
    # Imported here: documents.services may import this module.
    from crm.documents.services import public_base_url_is_usable

    base_url = current_app.config.get("PUBLIC_BASE_URL") or ""
    if not public_base_url_is_usable(base_url, current_app):
        return
    db.session.flush()  # the caller's own changes fail loudly, outside the guard
    try:
        codes = {public_url(base_url, token): None for token in tokens if token}
        codes = {url: encode_qr(url) for url in codes}
        with db.session.begin_nested():
            store_matrices(codes)
    except Exception:
        log.exception("QR codes not stored for later printing; encoded when printed")
