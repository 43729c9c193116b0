"""The disclosure package as readable blocks for the PDF, in Japanese.

Like the export files' column names, the document is written for the person in
the town's language: its labels are Japanese as printed, not UI text.
"""

import re

from crm.rights.pdf import Block

TITLE = "保有個人情報の開示（本人データ一式）"
PROFILE_LABELS = {
    "registration_number": "登録番号", "status": "状態", "family_name": "姓",
    "given_name": "名", "family_name_kana": "セイ", "given_name_kana": "メイ",
    "name_romaji": "ローマ字", "birth_date": "生年月日", "birth_year": "生まれ年",
    "gender": "性別", "email": "メールアドレス", "phone": "電話番号",
    "postal_code": "郵便番号", "prefecture": "都道府県", "municipality": "市区町村",
    "address": "住所", "country": "国", "residence": "居住地",
    "channel": "登録のきっかけ", "referral_society": "紹介したふるさと会",
    "registered_on": "登録日", "withdrawn_on": "退会日",
    "withdrawal_reason": "退会理由", "privacy_policy_version": "同意した利用目的の版",
    "privacy_consented_at": "利用目的への同意日時", "news_opt_in": "お知らせ希望",
    "show_name_publicly": "氏名公開の同意", "notes": "メモ",
    "use_stopped_at": "利用停止日時", "erased_at": "消去日時",
    "created_at": "作成日時", "updated_at": "更新日時",
}  # fmt: skip
# What a corrected field is called on the Liker page and in the package.
CORRECTION_LABELS = {
    **PROFILE_LABELS, "channel_id": "登録のきっかけ", "categories": "関係区分",
    "tags": "タグ", "referral_society_id": "紹介したふるさと会",
}  # fmt: skip
SECTIONS = (
    ("categories", "関係区分"), ("tags", "タグ"), ("attendance", "イベント参加"),
    ("guest_records", "イベントでの記帳（登録前）"), ("issuances", "感謝状・名刺の交付"),
    ("societies", "ふるさと会"), ("consents", "同意の記録"), ("corrections", "訂正の記録"),
    ("registrations", "申込フォームからの登録"), ("merged_records", "統合された記録"), ("introduced", "紹介した登録者"),
    ("audit", "この記録についての操作記録"),
)  # fmt: skip
ROW_LABELS = {
    "event": "イベント", "day": "日", "role": "役割", "checked_in_at": "受付日時",
    "method": "受付方法", "group": "区分", "name": "氏名", "name_kana": "フリガナ",
    "contact": "連絡先", "notes": "メモ", "kind": "種類", "issued_at": "交付日時",
    "reissue": "再交付", "society": "ふるさと会", "since": "入会日", "granted": "同意",
    "notice_version": "利用目的の版", "channel": "経路", "recorded_at": "記録日時",
    "recorded_by_id": "記録した職員ID", "field": "項目", "old_value": "訂正前",
    "new_value": "訂正後", "corrected_at": "訂正日時", "corrected_by_id": "職員ID",
    "values_erased": "値は消去済み", "at": "日時", "action": "操作",
    "object_type": "対象", "object_id": "対象ID", "user_id": "職員ID",
    "count": "人数", "submitted_at": "申込日時", "outcome": "審査結果",
    "reviewed_at": "審査日時", "reviewed_by_id": "審査した職員ID",
}  # fmt: skip
STATUSES = {"active": "登録中", "withdrawn": "退会", "stopped": "利用停止",
            "erased": "消去済み", "merged": "統合済み"}  # fmt: skip


# Codes stored in the database, as the person reads them.
CODES = {
    "residence": {"in_town": "市内", "in_prefecture": "県内（市外）",
                  "outside_prefecture": "県外", "overseas": "海外", "unknown": "不明"},
    "kind": {"card": "名刺", "certificate": "感謝状", "privacy_notice": "利用目的への同意",
             "news": "お知らせ", "public_name": "公開ページでの氏名表示"},
    "channel": {"web": "申込フォーム", "staff": "職員の入力", "desk": "受付",
                "import": "名簿の取り込み", "paper": "紙の申込書"},
    "role": {"participant": "参加者", "volunteer": "ボランティア", "speaker": "講師",
             "helper": "運営協力", "member": "会員", "officer": "役員"},
    "action": {"create": "登録", "view": "閲覧", "update": "変更", "withdraw": "退会",
               "reinstate": "退会の取消", "export": "エクスポート", "print": "印刷",
               "merge": "重複の統合", "disclose": "本人開示", "stop_use": "利用停止",
               "resume_use": "利用再開", "erase": "消去", "check_in": "受付",
               "reissue_token": "QRコードの再発行"},
}  # fmt: skip
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _coded(key: str, value):
    codes = CORRECTION_LABELS if key == "field" else CODES.get(key, {})
    return codes.get(value, value) if isinstance(value, str) else value


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return value[:16].replace("T", " ")  # Japan time, to the minute
    if value is True:
        return "はい"
    if value is False:
        return "いいえ"
    return str(value)


def _row_text(row: dict) -> str:
    return "　".join(
        f"{ROW_LABELS.get(key, key)}: {_shown(_coded(key, value))}"
        for key, value in row.items()
    )


def _profile_blocks(profile: dict) -> list[Block]:
    blocks = []
    for key, label in PROFILE_LABELS.items():
        value = profile.get(key)
        if key == "status":
            value = STATUSES.get(value, value)
        value = _coded(key, value)
        blocks.append(Block("field", _shown(value), label))
    return blocks


def package_blocks(package: dict, town: str) -> list[Block]:
    """Title, the profile field by field, then each section row by row."""
    blocks = [
        Block("title", TITLE),
        Block("note", f"{town}　作成日時: {_shown(package['generated_at'])}　"
                      f"登録番号: {package['registration_number']}"),
        Block("heading", "基本情報"),
        *_profile_blocks(package["profile"]),
    ]  # fmt: skip
    for key, heading in SECTIONS:
        section = package[key]
        blocks.append(Block("heading", f"{heading}（{_count(section)}）"))
        if key == "merged_records":
            for record in section:
                blocks += _profile_blocks(record)
            continue
        if isinstance(section, dict):
            blocks.append(Block("row", _row_text(section)))
            continue
        if not section:
            blocks.append(Block("row", "なし"))
        for item in section:
            text = _row_text(item) if isinstance(item, dict) else _shown(item)
            blocks.append(Block("row", text))
    return blocks


def _count(section) -> str:
    if isinstance(section, dict):
        return f"{section.get('count', 0)}人"
    return f"{len(section)}件"
