"""Printing Likers' business cards from the app and the command line, with the ledger."""

import shutil
import subprocess

from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.documents.models import Issuance
from crm.extensions import db
from tests.conftest import print_tools_unavailable
from tests.factories import make_supporter


def _likers(app, *names):
    with app.test_request_context():
        made = [
            make_supporter(family_name=family, family_name_kana=kana)
            for family, kana in names
        ]
        db.session.commit()
        return [(s.id, s.public_token, s.registration_number) for s in made]


def _decode(pdf: bytes, tmp_path) -> list[str]:
    for tool in ("pdftoppm", "zbarimg"):
        if shutil.which(tool) is None:
            print_tools_unavailable(f"{tool} is not installed")
    (tmp_path / "cards.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "1",
         str(tmp_path / "cards.pdf"), str(tmp_path / "p")],
        check=True,
    )  # fmt: skip
    output = subprocess.run(
        ["zbarimg", "-q", str(tmp_path / "p-1.png")], capture_output=True, text=True
    ).stdout
    return sorted(output.splitlines())


def _ledger(app):
    with app.app_context():
        return [
            (row.supporter_id, row.kind, row.reissue)
            for row in db.session.scalars(select(Issuance).order_by(Issuance.id))
        ]


def test_staff_print_a_likers_card_and_the_ledger_records_it(
    app, signed_in, gothic, tmp_path
):
    [(supporter_id, token, _number)] = _likers(app, ("𠮷田", "ヨシダ"))
    staff = signed_in("staff")
    response = staff.post_form(
        "/documents/cards",
        {"supporter_id": str(supporter_id), "layout": "sheet", "record": "y"},
        token_from=f"/likers/{supporter_id}",
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert _decode(response.data, tmp_path) == [
        f"QR-Code:https://likers.example.jp/v/{token}"
    ]
    assert _ledger(app) == [(supporter_id, "card", False)]
    staff.post_form(
        "/documents/cards",
        {"supporter_id": str(supporter_id), "layout": "single", "record": "y"},
        token_from=f"/likers/{supporter_id}",
    )
    assert _ledger(app) == [(supporter_id, "card", False), (supporter_id, "card", True)]
    history = staff.get(f"/likers/{supporter_id}").get_data(as_text=True)
    history = history[history.index('id="issuances"') :]
    assert history.index("再発行") < history.index("初回")  # newest first
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "print")
        )
        assert entry.details == {"supporter_ids": [supporter_id]}


def test_the_list_prints_its_selection_and_filters_those_without_a_card(
    app, signed_in, gothic, tmp_path
):
    likers = _likers(
        app, ("髙橋", "タカハシ"), ("佐藤", "サトウ"), ("高山", "タカヤマ")
    )
    staff = signed_in("staff")
    page = staff.get("/likers/?q=たか").get_data(as_text=True)
    assert "この2人分を印刷…" in page
    response = staff.post_form(
        "/documents/cards",
        {"query": "q=たか", "layout": "sheet", "record": "y"},
        token_from="/likers/?q=たか",
    )
    decoded = _decode(response.data, tmp_path)
    assert decoded == sorted(
        f"QR-Code:https://likers.example.jp/v/{token}"
        for _id, token, _n in (likers[0], likers[2])
    )
    not_issued = staff.get("/likers/?card=not_issued").get_data(as_text=True)
    assert ">佐藤 花子<" in not_issued and ">髙橋 花子<" not in not_issued
    issued = staff.get("/likers/?card=issued").get_data(as_text=True)
    assert ">髙橋 花子<" in issued and ">佐藤 花子<" not in issued


def test_a_name_too_long_for_the_card_prints_nothing_and_says_so(
    app, signed_in, gothic
):
    [(supporter_id, _token, _number)] = _likers(app, ("寿限無" * 20, "ジュゲム"))
    response = signed_in("staff").post_form(
        "/documents/cards",
        {"supporter_id": str(supporter_id), "layout": "sheet", "record": "y"},
        token_from=f"/likers/{supporter_id}",
        follow_redirects=True,
    )
    assert "最小の文字サイズでも収まりません" in response.get_data(as_text=True)
    assert _ledger(app) == []


def test_the_command_line_prints_cards_not_yet_issued(app, gothic, tmp_path):
    likers = _likers(app, ("夕張", "ユウバリ"), ("清水", "シミズ"))
    output = tmp_path / "cards.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["print", "cards", "--not-yet-issued", "--record-issue", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 2 cards" in result.output
    assert len(_decode(output.read_bytes(), tmp_path)) == 2
    assert sorted(_ledger(app)) == sorted((i, "card", False) for i, _t, _n in likers)
    again = runner.invoke(
        args=["print", "cards", "--not-yet-issued", "-o", str(output)]
    )
    assert "Wrote 0 cards" in again.output
    unknown = runner.invoke(
        args=["print", "cards", "--number", "YL-99999", "-o", str(output)]
    )
    assert unknown.exit_code != 0 and "YL-99999" in unknown.output


def test_printer_offsets_from_the_settings_reach_the_calibration_sheet(
    app, signed_in, gothic
):
    from tests.test_documents_certificates import DOCUMENT_SETTINGS

    admin = signed_in("admin")
    response = admin.post_form(
        "/documents/settings",
        {**DOCUMENT_SETTINGS, "card_offset_x": "2", "card_offset_y": "-1.5"},
    )
    assert response.status_code == 302
    out_of_range = admin.post_form(
        "/documents/settings", {**DOCUMENT_SETTINGS, "card_offset_x": "25"}
    )
    assert out_of_range.status_code == 200  # refused, explained on the form
    pdf = signed_in("staff").get("/documents/calibration.pdf")
    assert pdf.mimetype == "application/pdf"
    if shutil.which("pdftotext") is None:
        print_tools_unavailable("pdftotext is not installed")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    assert "右へ +2.0 mm、下へ -1.5 mm" in text


def test_printing_the_selection_keeps_every_filter_and_never_prints_withdrawn(
    app, signed_in, gothic, tmp_path
):
    from datetime import date

    with app.test_request_context():
        from crm.supporters.services import withdraw_supporter

        old = make_supporter(family_name="古参", registered_on=date(2020, 6, 1))
        make_supporter(family_name="新人", registered_on=date(2025, 6, 1))
        gone = make_supporter(family_name="退会", registered_on=date(2020, 7, 1))
        withdraw_supporter(gone, date(2024, 1, 1), None)
        db.session.commit()
        old_token = old.public_token
    staff = signed_in("staff")
    query = "from=2020-01-01&to=2020-12-31&status=all"
    response = staff.post_form(
        "/documents/cards",
        {"query": query, "layout": "sheet", "record": "y"},
        token_from=f"/likers/?{query}",
    )
    assert _decode(response.data, tmp_path) == [
        f"QR-Code:https://likers.example.jp/v/{old_token}"
    ]
    # Keys that are no filter are dropped, never passed on.
    odd = staff.post_form(
        "/documents/cards",
        {"query": "endpoint=x&_external=1&q=存在しない", "layout": "sheet"},
        token_from="/likers/",
    )
    assert odd.status_code == 302
    assert (
        odd.headers["Location"]
        == "/likers/?q=%E5%AD%98%E5%9C%A8%E3%81%97%E3%81%AA%E3%81%84"
    )
    too_long = staff.post_form(
        "/documents/cards", {"query": "q=" + "あ" * 5000}, token_from="/likers/"
    )
    assert too_long.status_code == 400


def test_cards_are_never_printed_for_a_loopback_public_address(app):
    from crm.documents.services import public_base_url_is_usable

    class Production:
        testing = debug = False

    for url in ("http://127.0.0.1:5000", "http://localhost", "", "http://[::1]/"):
        assert not public_base_url_is_usable(url, Production), url
    assert public_base_url_is_usable("https://likers.town.lg.jp", Production)
    assert public_base_url_is_usable("http://127.0.0.1:5000", app)  # testing
