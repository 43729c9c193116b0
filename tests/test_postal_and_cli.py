from sqlalchemy import func, select

from crm.auth.models import User
from crm.extensions import db
from crm.supporters.models import Supporter


def test_postal_code_fills_prefecture_and_municipality_offline(signed_in):
    viewer = signed_in("staff")
    for typed in ("0680403", "068-0403", "０６８－０４０３"):
        found = viewer.get(f"/postal/{typed}").get_json()
        assert found["prefecture"] == "北海道" and found["municipality"] == "夕張市", (
            typed
        )
        assert found["postal_code"] == "068-0403"
    assert viewer.get("/postal/0000000").status_code == 404
    assert viewer.get("/postal/12").status_code == 404


def test_cli_creates_users(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Clerk@Example.jp",
            "--role",
            "viewer",
            "--password",
            "a-long-enough-password",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert (
            db.session.scalar(select(User.role).where(User.email == "clerk@example.jp"))
            == "viewer"
        )
    again = runner.invoke(
        args=[
            "users",
            "create",
            "clerk@example.jp",
            "--password",
            "a-long-enough-password",
        ]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(
        args=["users", "create", "x@example.jp", "--password", "short"]
    )
    assert short.exit_code != 0 and "12" in short.output


def test_demo_data_has_realistic_likers_with_rare_kanji(app):
    result = app.test_cli_runner().invoke(args=["demo-data", "--likers", "400"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Supporter.id))) == 400
        names = set(db.session.scalars(select(Supporter.family_name)))
        assert {"髙山", "﨑田", "𠮷田"} <= names
        residences = set(db.session.scalars(select(Supporter.residence)))
        assert {
            "in_town",
            "in_prefecture",
            "outside_prefecture",
            "overseas",
        } <= residences
        numbers = db.session.scalars(select(Supporter.registration_number)).all()
        assert len(set(numbers)) == 400 and "YL-00400" in numbers


def test_setup_creates_the_first_admin_once_and_prints_its_password(app, monkeypatch):
    monkeypatch.delenv("CRM_ADMIN_PASSWORD", raising=False)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["setup"])
    assert first.exit_code == 0, first.output
    assert "password, shown only this once" in first.output
    second = runner.invoke(args=["setup"])
    assert "password" not in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_postal_lookup_works_from_a_server_thread():
    """Threaded servers (flask run, gunicorn threads) look codes up off the main thread."""
    import threading

    from crm.postal.views import lookup_postal_code

    results = []
    thread = threading.Thread(
        target=lambda: results.append(lookup_postal_code("068-0403"))
    )
    thread.start()
    thread.join()
    assert results[0]["municipality"] == "夕張市"
