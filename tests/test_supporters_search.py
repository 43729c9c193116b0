"""The one search box, as staff use it, checked through the list query."""

from crm.extensions import db
from crm.supporters.queries import SupporterFilter, list_supporters
from tests.factories import make_supporter


def found(q: str, **filters) -> list[str]:
    page = list_supporters(SupporterFilter(q=q, **filters), page=1, per_page=50)
    return [s.full_name for s in page.items]


def total(q: str, **filters) -> int:
    return list_supporters(SupporterFilter(q=q, **filters), page=1, per_page=50).total


def _people():
    make_supporter(family_name="高田", given_name="孝子", family_name_kana="タカダ",
                   given_name_kana="タカコ", email="takada@example.jp", phone="011-222-3333")  # fmt: skip
    make_supporter(family_name="佐藤", given_name="隆", family_name_kana="サトウ",
                   given_name_kana="タカシ", email="sato@example.jp", phone="090-1234-5678")  # fmt: skip
    make_supporter(family_name="鈴木", given_name="さくら", family_name_kana="スズキ",
                   given_name_kana="サクラ")  # fmt: skip
    db.session.flush()


def test_kana_matches_family_or_given_reading_and_lists_each_person_once(ctx):
    _people()
    # 高田 孝子 matches by both readings; she is listed once and counted once.
    assert found("たか") == ["佐藤 隆", "高田 孝子"]
    assert total("たか") == 2
    assert found("ﾀｶｼ") == ["佐藤 隆"]


def test_a_single_kana_is_a_family_name_initial(ctx):
    _people()
    assert found("さ") == [
        "佐藤 隆"
    ]  # not 鈴木 さくら, whose given name starts with さ
    assert found("す") == ["鈴木 さくら"]


def test_kanji_email_phone_and_number(ctx):
    _people()
    assert found("高田") == ["高田 孝子"]
    assert found("孝子") == ["高田 孝子"]
    assert found("sato") == ["佐藤 隆"]  # email prefix
    assert found("011-222") == ["高田 孝子"]
    assert found("01122233") == ["高田 孝子"]
    assert found("2") == ["佐藤 隆"]  # registration number YL-00002
    assert found("YL-0000") == ["佐藤 隆", "鈴木 さくら", "高田 孝子"]


def test_search_combines_with_filters_and_sorts(ctx):
    _people()
    make_supporter(family_name="高橋", given_name="一郎", family_name_kana="タカハシ",
                   given_name_kana="イチロウ", prefecture="東京都", municipality="新宿区")  # fmt: skip
    db.session.flush()
    assert found("たか", residences=["outside_prefecture"]) == ["高橋 一郎"]
    assert found("たか", sort="number") == ["高田 孝子", "佐藤 隆", "高橋 一郎"]
    assert found("たか", sort="newest")[0] == "高橋 一郎"


def test_paging_through_search_results_shows_everyone_exactly_once(ctx):
    for i in range(23):
        make_supporter(family_name="田中", given_name=f"{i}", family_name_kana="タナカ",
                       given_name_kana="タロウ")  # fmt: skip
    db.session.flush()
    seen = []
    for page_number in (1, 2, 3):
        page = list_supporters(SupporterFilter(q="たな"), page=page_number, per_page=10)
        seen += [s.id for s in page.items]
        assert page.total == 23
    assert len(seen) == len(set(seen)) == 23
