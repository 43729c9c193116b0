from datetime import date

import pytest

from crm.admin.services import local_government_code_is_valid
from crm.eras import DateParseError, format_era, parse_date
from crm.japanese import is_kana, kana_key, name_key, phone_key, query_key


@pytest.mark.parametrize(
    "typed", ["ﾀｶﾔﾏ", "タカヤマ", "たかやま", "タカ ヤマ", "ﾀｶ　ﾔﾏ"]
)
def test_every_way_of_typing_a_reading_gives_one_key(typed):
    assert kana_key(typed) == "たかやま"


def test_voiced_half_width_kana_fold_to_one_character():
    assert kana_key("ﾔﾏｻﾞｷ") == kana_key("やまざき") == "やまざき"


def test_variant_kanji_fold_in_keys_but_not_in_what_is_stored():
    stored = "髙山"
    assert name_key(stored, "𠮷郎") == "高山吉郎"
    assert query_key("高山") == "高山"
    assert stored == "髙山"  # the key is derived; the name itself is untouched


def test_compatibility_ideograph_matches_its_unified_form_only_in_keys():
    assert name_key("\ufa46") == name_key("\u6e1a")  # 渚 in both encodings


@pytest.mark.parametrize(
    "typed",
    ["090-1234-5678", "09012345678", "０９０‐１２３４‐５６７８", "090 1234 5678"],
)
def test_phone_key_is_the_digits(typed):
    assert phone_key(typed) == "09012345678"


def test_kana_validation():
    assert (
        is_kana("やまだ")
        and is_kana("ヤマダ")
        and is_kana("ﾔﾏﾀﾞ")
        and is_kana("ヤマダ タロウ")
    )
    assert not is_kana("山田") and not is_kana("yamada")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(2025, 4, 1), "令和7年4月1日"),
    ],
)
def test_era_dates(day, expected):
    assert format_era(day) == expected
    assert parse_date(expected) == day


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1980-04-01", date(1980, 4, 1)),
        ("1980/4/1", date(1980, 4, 1)),
        ("19800401", date(1980, 4, 1)),
        ("昭和55年4月1日", date(1980, 4, 1)),
        ("S55.4.1", date(1980, 4, 1)),
        ("平成3年4月1日", date(1991, 4, 1)),
        ("R1.5.1", date(2019, 5, 1)),
        ("２０１９年５月１日", date(2019, 5, 1)),
    ],
)
def test_dates_as_staff_type_them(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["平成31年5月1日", "令和元年4月30日", "2019-02-30", "昭和65年1月1日", "abc", ""],
)
def test_impossible_dates_are_refused(typed):
    with pytest.raises(DateParseError):
        parse_date(typed)


@pytest.mark.parametrize("code", ["012092", "131016", "011002", "271004", "472018"])
def test_real_local_government_codes_pass_the_check_digit(code):
    assert local_government_code_is_valid(code)


@pytest.mark.parametrize("code", ["012091", "01209", "0120921", "abcdef", ""])
def test_wrong_local_government_codes_fail(code):
    assert not local_government_code_is_valid(code)
