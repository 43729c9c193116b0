"""Which column of a file holds what: Japanese and English headers recognised.

Headers are compared folded (NFKC, lower case, without spaces, brackets and dots),
so 姓（カナ）, 姓(ｶﾅ) and "姓 カナ" are one header.
"""

import re
import unicodedata

# field -> the headers that name it (folded when compared).
LIKER_FIELDS: dict[str, tuple[str, ...]] = {
    "registration_number": ("登録番号", "会員番号", "番号", "registration number", "number", "no"),
    "full_name": ("氏名", "名前", "お名前", "おなまえ", "name", "full name"),
    "family_name": ("姓", "氏", "苗字", "名字", "family name", "last name", "surname"),
    "given_name": ("名", "下の名前", "given name", "first name"),
    "full_kana": ("フリガナ", "ふりがな", "氏名カナ", "氏名かな", "氏名フリガナ", "カナ", "かな",
                  "よみ", "読み", "よみがな", "読み仮名", "kana", "reading"),
    "family_name_kana": ("セイ", "せい", "姓カナ", "姓かな", "姓フリガナ", "姓ふりがな",
                         "フリガナ姓", "ふりがな姓", "family name kana", "family kana"),
    "given_name_kana": ("メイ", "めい", "名カナ", "名かな", "名フリガナ", "名ふりがな",
                        "フリガナ名", "ふりがな名", "given name kana", "given kana"),
    "name_romaji": ("ローマ字", "ローマ字氏名", "romaji", "name in latin letters"),
    "birth_date": ("生年月日", "誕生日", "birth date", "date of birth", "birthday"),
    "birth_year": ("生まれ年", "生年", "birth year", "year of birth"),
    "gender": ("性別", "gender"),
    "email": ("メールアドレス", "メール", "eメール", "e-mail", "email", "mail", "mail address"),
    "phone": ("電話番号", "電話", "tel", "携帯", "携帯電話", "携帯番号", "phone", "phone number"),
    "postal_code": ("郵便番号", "〒", "postal code", "postcode", "zip", "zip code"),
    "prefecture": ("都道府県", "prefecture"),
    "municipality": ("市区町村", "市町村", "municipality", "city"),
    "address": ("住所", "番地", "町名番地", "住所番地", "address"),
    "country": ("国", "国名", "country"),
    "categories": ("関係区分", "区分", "関係", "夕張との関係", "まちとの関係", "category", "categories"),
    "channel": ("登録経路", "経路", "きっかけ", "channel"),
    "registered_on": ("登録日", "登録年月日", "registered on", "registration date"),
    "news_opt_in": ("ニュース希望", "案内希望", "メルマガ", "お知らせ希望", "news"),
    "show_name_publicly": ("氏名公開", "名前公開", "show name"),
    "notes": ("備考", "メモ", "notes", "note", "remarks"),
    "tags": ("タグ", "tags"),
}  # fmt: skip

ATTENDANCE_FIELDS: dict[str, tuple[str, ...]] = {
    "day": ("日付", "開催日", "参加日", "date", "day"),
    "registration_number": LIKER_FIELDS["registration_number"],
    "full_name": LIKER_FIELDS["full_name"],
    "family_name": LIKER_FIELDS["family_name"],
    "given_name": LIKER_FIELDS["given_name"],
    "full_kana": LIKER_FIELDS["full_kana"],
    "role": ("役割", "role"),
    "citizens": ("市民", "町民", "村民", "市民数", "citizens"),
    "visitors": ("来訪者", "来訪者数", "visitors"),
}

MEMBERSHIP_FIELDS: dict[str, tuple[str, ...]] = {
    "society": ("ふるさと会", "会", "会名", "society"),
    "registration_number": LIKER_FIELDS["registration_number"],
    "full_name": LIKER_FIELDS["full_name"],
    "family_name": LIKER_FIELDS["family_name"],
    "given_name": LIKER_FIELDS["given_name"],
    "full_kana": LIKER_FIELDS["full_kana"],
    "role": ("役職", "役割", "role"),
    "since": ("入会日", "入会年月日", "since"),
}

FIELDS = {"likers": LIKER_FIELDS, "attendance": ATTENDANCE_FIELDS,
          "memberships": MEMBERSHIP_FIELDS}  # fmt: skip
_NOISE = re.compile(r"[\s()\[\]{}（）【】「」『』<>＜＞・.:：_\-－ー*＊※]")


def fold_header(text: str) -> str:
    folded = unicodedata.normalize("NFKC", str(text or "")).lower()
    return _NOISE.sub("", folded)


def _index(fields: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {
        fold_header(name): field for field, names in fields.items() for name in names
    }


def guess_mapping(headers: list[str], kind: str = "likers") -> dict[int, str]:
    """column index -> field, for the headers recognised; each field used once."""
    index = _index(FIELDS[kind])
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for position, header in enumerate(headers):
        field = index.get(fold_header(header))
        if field and field not in taken:
            mapping[position] = field
            taken.add(field)
    return mapping
