"""Upgrading an installation that already holds Likers keeps every row and link."""

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import create_app

ROWS_AT_0001 = [
    "INSERT INTO categories (id, name, position, active) VALUES (1, '出身者', 1, true)",
    "INSERT INTO tags (id, name) VALUES (1, '写真展')",
    *(
        "INSERT INTO supporters (id, registration_number, family_name, given_name,"
        " family_name_kana, given_name_kana, residence, registered_on, status,"
        " news_opt_in, name_key, given_name_key, kana_key, given_kana_key,"
        f" created_at, updated_at) VALUES ({i}, 'YL-0000{i}', '髙橋', '﨑子',"
        " 'タカハシ', 'サキコ', 'in_town', '2024-04-01', 'active',"
        f" {'true' if i == 1 else 'false'}, '', '', '',"
        " '', '2024-04-01', '2024-04-01')"
        for i in (1, 2, 3)
    ),
    *(f"INSERT INTO supporter_categories VALUES ({i}, 1)" for i in (1, 2, 3)),
    *(f"INSERT INTO supporter_tags VALUES ({i}, 1)" for i in (1, 2, 3)),
]


def _databases(tmp_path):
    yield "sqlite", f"sqlite:///{tmp_path}/upgrade.sqlite3"
    if os.environ.get("CRM_TEST_DATABASE_URL"):
        url = make_url(os.environ["CRM_TEST_DATABASE_URL"])
        admin = create_engine(
            url.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS crm_upgrade_test"))
            connection.execute(text("CREATE DATABASE crm_upgrade_test"))
        admin.dispose()
        yield (
            "postgresql",
            url.set(database="crm_upgrade_test").render_as_string(hide_password=False),
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrading_from_the_first_revision_keeps_likers_categories_and_tags(
    tmp_path, backend
):
    urls = dict(_databases(tmp_path))
    if backend not in urls:
        pytest.skip("no PostgreSQL URL given (CRM_TEST_DATABASE_URL)")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": urls[backend]}
    )
    from flask_migrate import upgrade

    from crm.extensions import db

    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            for statement in ROWS_AT_0001:
                connection.execute(text(statement))
        upgrade()
        with db.engine.connect() as connection:
            counts = {
                table: connection.execute(
                    text(f"SELECT count(*) FROM {table}")
                ).scalar()
                for table in ("supporters", "supporter_categories", "supporter_tags")
            }
            tokens = (
                connection.execute(text("SELECT public_token FROM supporters"))
                .scalars()
                .all()
            )
            names = (
                connection.execute(
                    text("SELECT DISTINCT family_name || given_name FROM supporters")
                )
                .scalars()
                .all()
            )
            consents = connection.execute(
                text("SELECT supporter_id, kind, granted FROM consent_records")
            ).all()
        db.engine.dispose()
    # The news opt-in held before consent records existed becomes one (0011).
    assert [tuple(c) for c in consents] == [(1, "news", True)]
    assert counts == {"supporters": 3, "supporter_categories": 3, "supporter_tags": 3}
    assert len(set(tokens)) == 3 and all(len(t) >= 20 for t in tokens)
    assert names == ["髙橋﨑子"]
