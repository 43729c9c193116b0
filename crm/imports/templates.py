"""Labels of the importable fields, and a template file per kind of import."""

from flask_babel import gettext as _

from crm.exports.formats import csv_bytes

FIELD_LABELS = {
    "registration_number": lambda: _("Registration number"),
    "full_name": lambda: _("Full name (family and given, split at the space)"),
    "family_name": lambda: _("Family name"),
    "given_name": lambda: _("Given name"),
    "full_kana": lambda: _("Reading of the full name (split at the space)"),
    "family_name_kana": lambda: _("Family name (kana)"),
    "given_name_kana": lambda: _("Given name (kana)"),
    "name_romaji": lambda: _("Name in Latin letters"),
    "birth_date": lambda: _("Date of birth"),
    "birth_year": lambda: _("Year of birth"),
    "gender": lambda: _("Gender"),
    "email": lambda: _("Email"),
    "phone": lambda: _("Phone"),
    "postal_code": lambda: _("Postal code"),
    "prefecture": lambda: _("Prefecture"),
    "municipality": lambda: _("City, town or village"),
    "address": lambda: _("Address"),
    "country": lambda: _("Country"),
    "categories": lambda: _("Relationship categories"),
    "channel": lambda: _("Channel"),
    "registered_on": lambda: _("Registered on"),
    "news_opt_in": lambda: _("Wants news (はい/いいえ)"),
    "show_name_publicly": lambda: _("Name on the public page (はい/いいえ)"),
    "notes": lambda: _("Notes"),
    "tags": lambda: _("Tags"),
    "day": lambda: _("Day"),
    "role": lambda: _("Role"),
    "citizens": lambda: _("Citizens (count)"),
    "visitors": lambda: _("Visitors (count)"),
    "society": lambda: _("Hometown society"),
    "since": lambda: _("Member since"),
}

TEMPLATES = {
    "likers": (
        ["姓", "名", "セイ", "メイ", "生年月日", "メールアドレス", "電話番号", "郵便番号",
         "都道府県", "市区町村", "住所", "関係区分", "登録経路", "登録日", "ニュース希望", "備考"],
        [["夕張", "花子", "ユウバリ", "ハナコ", "昭和55年4月1日", "hanako@example.jp",
          "090-1234-5678", "068-0400", "北海道", "夕張市", "本町1-2-3", "出身者、ファン",
          "イベント会場", "2025-04-01", "はい", ""]],
    ),
    "attendance": (
        ["日付", "登録番号", "氏名", "フリガナ", "役割", "市民", "来訪者"],
        [["2025-07-01", "YL-00012", "", "", "参加者", "", ""],
         ["2025-07-01", "", "夕張 花子", "ユウバリ ハナコ", "ボランティア", "", ""],
         ["2025-07-01", "", "", "", "", "12", "5"]],
    ),
    "memberships": (
        ["ふるさと会", "登録番号", "氏名", "フリガナ", "役職", "入会日"],
        [["東京夕張会", "YL-00012", "", "", "会員", "2020-04-01"],
         ["東京夕張会", "", "夕張 花子", "ユウバリ ハナコ", "役員", ""]],
    ),
}  # fmt: skip


def template_csv(kind: str) -> bytes:
    """A CSV (UTF-8 with BOM, opens in Excel) with the recognised headers and examples."""
    headers, examples = TEMPLATES[kind]
    content, _problems = csv_bytes(headers, examples)
    return content
