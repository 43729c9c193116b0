"""The report as labelled tables: what the page, the Excel workbook and the CSV show.

Labels are Japanese whatever the screen's language: the report is a document for
the ministry and the council. The town's words (市内/町内, 市民/町民) come from
the settings.
"""

from dataclasses import dataclass

from crm.eras import format_era
from crm.reports.queries import EVENT_KEYS, Report


@dataclass(frozen=True)
class Table:
    sheet: str  # the workbook sheet it goes on
    title: str
    headers: tuple[str, ...]
    rows: list[tuple]


def residence_labels(terms: dict) -> dict[str, str]:
    return {
        "in_town": terms["inside"],
        "in_prefecture": f"{terms['prefecture_inside']}（{terms['inside']}を除く）",
        "outside_prefecture": terms["prefecture_outside"],
        "overseas": "海外",
        "unknown": "不明",
    }


def event_labels(terms: dict) -> dict[str, str]:
    outside = terms["outside"]
    return {
        "count": "開催イベント数",
        "days": "開催日数（延べ）",
        "participations_total": "参加者数（延べ）",
        "participations_likers": "うち登録者（延べ）",
        "participations_citizens": f"うち{terms['residents']}（登録者以外、延べ）",
        "participations_visitors": "うちその他の来訪者（延べ）",
        "unique_likers": "参加した登録者（実人数）",
        "participations_likers_outside": f"{outside}在住の登録者（延べ）",
        "unique_likers_outside": f"{outside}在住の登録者（実人数）",
        "first_time_likers": "初めて参加した登録者（実人数）",
    }


def period_text(report: Report) -> str:
    return f"{format_era(report.period_from)}〜{format_era(report.period_to)}"


def report_tables(report: Report, word: str, terms: dict) -> list[Table]:
    """Every table of the report, in the order of the workbook's sheets."""
    likers = report.likers
    as_of = format_era(report.as_of)
    events = event_labels(terms)
    residences = residence_labels(terms)
    summary = [
        (f"{word}登録者数（{as_of}現在）", likers["registered"]),
        ("うち名刺交付済み", likers["card_issued"]),
        ("うち感謝状交付済み", likers["certificate_issued"]),
        ("期間中の新規登録", likers["new_in_period"]),
        ("期間中の登録解除", likers["withdrawn_in_period"]),
    ]
    event_summary = [(events[key], getattr(report.events, key)) for key in EVENT_KEYS]
    per_group_headers = tuple(events[key] for key in EVENT_KEYS)
    return [
        Table("概要", "登録者", ("項目", "人数"), summary),
        Table(
            "概要",
            f"イベント（{period_text(report)}、{as_of}まで）",
            ("項目", "人数・件数"),
            event_summary,
        ),  # fmt: skip
        Table(
            "居住地",
            "居住地別の登録者",
            ("居住地", "人数"),
            [(residences[r["residence"]], r["count"]) for r in likers["by_residence"]],
        ),  # fmt: skip
        Table(
            "居住地",
            "都道府県別の登録者",
            ("都道府県", "人数"),
            [(r["prefecture"], r["count"]) for r in likers["by_prefecture"]],
        ),  # fmt: skip
        Table(
            "関係区分",
            "関係区分別の登録者（複数該当あり）",
            ("関係区分", "人数"),
            [(r["category"], r["count"]) for r in likers["by_category"]],
        ),  # fmt: skip
        Table(
            "年代",
            f"年代別の登録者（{as_of}時点の年齢）",
            ("年代", "人数"),
            [(r["band"], r["count"]) for r in likers["by_age_band"]],
        ),  # fmt: skip
        Table(
            "登録経路",
            "登録経路別の登録者",
            ("登録経路", "人数"),
            [(r["channel"], r["count"]) for r in likers["by_channel"]],
        ),  # fmt: skip
        Table(
            "月別登録",
            "月別の新規登録",
            ("月", "人数"),
            [(_month_label(r["month"]), r["count"]) for r in likers["by_month"]],
        ),  # fmt: skip
        Table(
            "テーマ別",
            "テーマ別のイベント実績",
            ("テーマ", *per_group_headers),
            [(t["theme"], *(t[k] for k in EVENT_KEYS)) for t in report.by_theme],
        ),  # fmt: skip
        Table(
            "イベント別",
            "イベント別の実績",
            ("イベント", "初日", "テーマ", *per_group_headers[1:]),
            [
                (
                    e["title"],
                    _era_or_blank(e["first_day"]),
                    e["theme"],
                    *(e[k] for k in EVENT_KEYS[1:]),
                )
                for e in report.by_event
            ],
        ),  # fmt: skip
        Table(
            "ふるさと会",
            "ふるさと会",
            ("ふるさと会", "会員の登録者数", "会員の参加（延べ）"),
            [
                (s["society"], s["members"], s["participations"])
                for s in report.societies
            ],
        ),  # fmt: skip
    ]


def _month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


def _era_or_blank(iso: str | None) -> str:
    from datetime import date

    return format_era(date.fromisoformat(iso)) if iso else ""
