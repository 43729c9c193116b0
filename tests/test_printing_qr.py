"""QR codes: encoded once when a token is issued, kept in qr_codes, read back for
every reprint, and still read by a real scanner (zbar) when drawn from the store."""

import random
import shutil
import subprocess

import pytest
from sqlalchemy import func, select, text

from crm.documents import qr_store
from crm.documents.models import QrCode
from crm.extensions import db
from crm.printing import qr
from crm.printing.business_card import CardData, render_sheets
from crm.printing.fonts import FontFile, FontSet
from crm.supporters.services import reissue_public_token
from crm.supporters.tokens import public_url
from tests.conftest import print_tools_unavailable
from tests.factories import make_supporter

BASE = "https://likers.example.jp"
URL = f"{BASE}/v/AbCdEfGhIjKlMnOpQrStUv"


def _zbar(pdf: bytes, tmp_path) -> list[str]:
    for tool in ("pdftoppm", "zbarimg"):
        if shutil.which(tool) is None:
            print_tools_unavailable(
                f"{tool} is not installed (poppler-utils, zbar-tools)"
            )
    (tmp_path / "codes.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-singlefile",
         str(tmp_path / "codes.pdf"), str(tmp_path / "page")],
        check=True,
    )  # fmt: skip
    output = subprocess.run(
        ["zbarimg", "-q", str(tmp_path / "page.png")], capture_output=True, text=True
    ).stdout
    return sorted(line.removeprefix("QR-Code:") for line in output.splitlines())


def _cards(urls: list[str]) -> list[CardData]:
    return [
        CardData(
            programme="夕張Likers!",
            title="夕張Likers! 登録者",
            name="夕張 花子",
            reading="ユウバリ ハナコ",
            number=f"YL-{i:05d}",
            url=url,
        )
        for i, url in enumerate(urls, start=1)
    ]


def _refuse_to_encode(monkeypatch):
    def encode(data, error="m"):
        raise AssertionError(f"encoded {data!r} again")

    monkeypatch.setattr(qr_store, "encode_qr", encode)
    monkeypatch.setattr(qr, "encode_qr", encode)
    qr.qr_modules.cache_clear()


def _stored(url: str) -> qr.QrModules | None:
    return qr_store.stored_matrices([url]).get(url)


# --- the packed form -----------------------------------------------------------


@pytest.mark.parametrize("side", [1, 7, 8, 9, 21, 33, 177])
def test_pack_and_unpack_give_back_the_same_modules(side):
    rng = random.Random(side)
    matrix = tuple(tuple(rng.random() < 0.5 for _ in range(side)) for _ in range(side))
    modules = qr_store.pack(matrix)
    assert modules.side == side
    assert len(modules.packed) == side * ((side + 7) // 8)
    assert qr_store.unpack(modules) == matrix


def test_the_packed_form_reads_left_to_right_most_significant_bit_first():
    modules = qr_store.pack([[True, False, False], [False, False, True], [0, 1, 0]])
    assert modules.packed == bytes([0b1000_0000, 0b0010_0000, 0b0100_0000])


@pytest.mark.parametrize("encoder", ["zint", "segno"])
def test_both_encoders_make_version_4_codes_whose_path_covers_the_dark_modules(
    encoder, monkeypatch
):
    if encoder == "segno":
        monkeypatch.setattr(qr, "zint", None)
    elif qr.zint is None:
        pytest.skip("zint-bindings is not installed")
    modules = qr.encode_qr(URL)
    assert modules.side == 33  # version 4 at level M
    matrix = qr.unpack_matrix(modules)
    dark = {(y, x) for y, row in enumerate(matrix) for x, m in enumerate(row) if m}
    covered = []
    for line in qr.qr_operators(modules).splitlines()[:-1]:
        x, y, width, height, operator = line.split()
        assert operator == "re"
        covered += [
            (int(y) + j, int(x) + i)
            for i in range(int(width))
            for j in range(int(height))
        ]
    assert len(covered) == len(set(covered))  # no module painted twice
    assert set(covered) == dark


@pytest.mark.parametrize("encoder", ["zint", "segno"])
def test_codes_of_both_encoders_decode_with_zbar(encoder, monkeypatch, tmp_path):
    if encoder == "segno":
        monkeypatch.setattr(qr, "zint", None)
    elif qr.zint is None:
        pytest.skip("zint-bindings is not installed")
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    urls = [f"{BASE}/v/Code{i}xAbCdEfGhIjKlMnOp" for i in range(4)]
    canvas = Canvas(str(tmp_path / "page.pdf"), pagesize=A4)
    for i, url in enumerate(urls):
        modules = qr.encode_qr(url)
        qr.draw_qr(canvas, url, 20 * mm + i * 45 * mm, 200 * mm, 22 * mm, modules)
    canvas.save()
    assert _zbar((tmp_path / "page.pdf").read_bytes(), tmp_path) == sorted(urls)


# --- the store -------------------------------------------------------------------


def test_a_stored_code_is_read_back_and_never_encoded_again(ctx, monkeypatch):
    stored = qr_store.remember_qr(URL)
    assert _stored(URL) == stored
    _refuse_to_encode(monkeypatch)
    assert qr_store.matrices_for([URL, URL]) == {URL: stored}


def test_missing_codes_are_encoded_once_and_stored_in_one_go(ctx, monkeypatch):
    urls = [f"{BASE}/v/Missing{i:03d}AbCdEfGhIjKl" for i in range(1200)]
    qr_store.remember_qr(urls[0])
    encoded = []
    encode = qr_store.encode_qr
    monkeypatch.setattr(
        qr_store, "encode_qr", lambda data: encoded.append(data) or encode(data)
    )
    codes = qr_store.matrices_for(urls)
    assert sorted(codes) == sorted(urls)
    assert sorted(encoded) == sorted(urls[1:])
    assert db.session.scalar(select(func.count()).select_from(QrCode)) == len(urls)
    assert qr_store.stored_matrices(urls) == codes


def test_a_preview_can_read_codes_without_storing_any(ctx):
    codes = qr_store.matrices_for([URL], store=False)
    assert codes == {URL: qr.encode_qr(URL)}
    assert db.session.scalar(select(func.count()).select_from(QrCode)) == 0


def test_storing_a_code_twice_keeps_one_row(ctx):
    first = qr_store.remember_qr(URL)
    qr_store.store_matrices({URL: first})  # e.g. another worker stored it meanwhile
    assert db.session.scalar(select(func.count()).select_from(QrCode)) == 1


def test_a_damaged_row_is_encoded_again_not_drawn(ctx):
    db.session.add(QrCode(data=URL, side=33, modules=b"\x00" * 10))
    db.session.flush()
    assert _stored(URL) is None
    assert qr_store.matrices_for([URL])[URL] == qr.encode_qr(URL)


# --- tokens ----------------------------------------------------------------------


def test_registering_a_liker_stores_the_code_of_their_public_address(ctx, monkeypatch):
    supporter = make_supporter()
    url = public_url(BASE, supporter.public_token)
    assert _stored(url) == qr.encode_qr(url)
    _refuse_to_encode(monkeypatch)
    assert qr_store.matrices_for([url])[url] == _stored(url)


def test_a_reissued_token_gets_its_own_code_stored(ctx):
    supporter = make_supporter()
    old_url = public_url(BASE, supporter.public_token)
    reissue_public_token(supporter)
    new_url = public_url(BASE, supporter.public_token)
    assert new_url != old_url
    assert _stored(new_url) == qr.encode_qr(new_url)
    assert _stored(new_url) != _stored(old_url)


def test_no_code_is_kept_for_a_loopback_address(app, ctx, monkeypatch):
    monkeypatch.setattr(app, "testing", False)
    monkeypatch.setattr(app, "debug", False)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    make_supporter()
    assert db.session.scalar(select(func.count()).select_from(QrCode)) == 0


def test_a_failing_encoder_never_stops_a_registration(ctx, monkeypatch):
    def broken(data, error="m"):
        raise RuntimeError("encoder broken")

    monkeypatch.setattr(qr_store, "encode_qr", broken)
    supporter = make_supporter()
    db.session.commit()
    assert supporter.id is not None
    assert db.session.scalar(select(func.count()).select_from(QrCode)) == 0


def test_a_failing_insert_leaves_the_registration_intact(ctx, monkeypatch):
    # On PostgreSQL a failed statement aborts the whole transaction unless it ran
    # in a savepoint: the registration must still commit.
    def broken_store(codes):
        db.session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    monkeypatch.setattr(qr_store, "store_matrices", broken_store)
    supporter = make_supporter()
    db.session.commit()
    assert db.session.get(type(supporter), supporter.id).public_token


# --- printing from the store -----------------------------------------------------


def test_cards_drawn_from_stored_codes_decode_to_their_urls(
    ctx, gothic, monkeypatch, tmp_path
):
    urls = [f"{BASE}/v/Stored{i:02d}xAbCdEfGhIjKlMn" for i in range(10)]
    for url in urls:
        qr_store.remember_qr(url)
    _refuse_to_encode(monkeypatch)
    with qr.known_qr_codes(qr_store.matrices_for(urls)):
        pdf = render_sheets(_cards(urls), gothic)
    decoded = _zbar(pdf, tmp_path)
    assert decoded == sorted(urls)


def test_known_codes_apply_only_inside_their_block(monkeypatch):
    other = qr.encode_qr(f"{BASE}/v/SomeoneElseAbCdEfGhIjK")
    drawn = []
    monkeypatch.setattr(qr, "qr_operators", lambda m: drawn.append(m) or "f")

    class Canvas:
        def addLiteral(self, literal):
            pass

    with qr.known_qr_codes({URL: other}):
        qr.draw_qr(Canvas(), URL, 0, 0, 60)
    qr.draw_qr(Canvas(), URL, 0, 0, 60)
    assert drawn == [other, qr.qr_modules(URL)]


# --- fonts -------------------------------------------------------------------------


def test_a_fallback_font_is_read_only_when_a_character_needs_it(gothic):
    never_there = FontFile("NoSuchFont", "/nonexistent/NoSuchFont.ttf")
    fonts = FontSet(gothic.main, [never_there])
    assert fonts.missing("夕張 花子 髙﨑") == []  # IPAex has them: nothing else read
    with pytest.raises(OSError):
        fonts.font_for("𠮷")  # only IPAmj Mincho has it: now the fallback is read
