"""Likely duplicates: the same email, the same phone, the same reading and birth date,
or the same name and postal code — each with a score staff can weigh.

Keys are the registry's search keys (crm.japanese), so full-width and half-width,
hyphens and spaces, katakana and hiragana, 髙 and 高 all meet. Phone numbers written
internationally (+81 90 …) meet their domestic form (090 …).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from crm.extensions import db
from crm.japanese import email_key, kana_key, name_key, phone_key
from crm.supporters.models import Supporter
from crm.supporters.services import SupporterData

# (key name, score): how sure a match on that key alone makes us.
SCORES = {"email": 95, "phone": 85, "kana_birth": 80, "name_postal": 70}
LIKELY = 70  # from this score, staff are asked before a new Liker is created
CHUNK = 500


@dataclass
class Match:
    supporter_id: int
    registration_number: str
    name: str
    score: int
    reasons: list[str] = field(default_factory=list)  # keys of SCORES


def domestic_phone(phone: str | None) -> str:
    digits = phone_key(phone)
    if digits.startswith("81") and len(digits) in (11, 12):
        return "0" + digits[2:]
    return digits


def match_keys(data: SupporterData) -> dict[str, str]:
    """The keys of a Liker's details that duplicates would share."""
    keys = {}
    if data.email:
        keys["email"] = email_key(data.email)
    if data.phone and len(domestic_phone(data.phone)) >= 7:
        keys["phone"] = domestic_phone(data.phone)
    kana = kana_key(data.family_name_kana, data.given_name_kana)
    if kana and data.birth_date:
        keys["kana_birth"] = f"{kana}|{data.birth_date.isoformat()}"
    name = name_key(data.family_name, data.given_name)
    if name and data.postal_code:
        keys["name_postal"] = f"{name}|{phone_key(data.postal_code)}"
    return keys


def _score(reasons: list[str]) -> int:
    best = max(SCORES[r] for r in reasons)
    return min(100, best + 5 * (len(reasons) - 1))


def _stored_keys(row) -> dict[str, str]:
    keys = {}
    if row.email_key:
        keys["email"] = row.email_key
    if row.phone_key:
        keys["phone"] = domestic_phone(row.phone_key)
    if row.kana_key and row.birth_date:
        keys["kana_birth"] = f"{row.kana_key}|{row.birth_date.isoformat()}"
    if row.name_key and row.postal_code:
        keys["name_postal"] = f"{row.name_key}|{phone_key(row.postal_code)}"
    return keys


def _candidates(keys: list[dict[str, str]]):
    """Stored Likers sharing any key with these, read through the key indexes."""
    emails = {k["email"] for k in keys if "email" in k}
    phones = {k["phone"] for k in keys if "phone" in k}
    phones |= {"81" + p[1:] for p in phones}  # stored as typed: +81 … or 0 …
    kanas = {k["kana_birth"].split("|")[0] for k in keys if "kana_birth" in k}
    names = {k["name_postal"].split("|")[0] for k in keys if "name_postal" in k}
    columns = (
        Supporter.id, Supporter.registration_number, Supporter.family_name,
        Supporter.given_name, Supporter.email_key, Supporter.phone_key,
        Supporter.kana_key, Supporter.birth_date, Supporter.name_key,
        Supporter.postal_code,
    )  # fmt: skip
    found = {}
    for column, values in (
        (Supporter.email_key, emails),
        (Supporter.phone_key, phones),
        (Supporter.kana_key, kanas),
        (Supporter.name_key, names),
    ):
        values = sorted(values)
        for start in range(0, len(values), CHUNK):
            for row in db.session.execute(
                select(*columns).where(
                    column.in_(values[start : start + CHUNK]),
                    Supporter.status != "merged",  # its survivor is found instead
                )
            ):
                found[row.id] = row
    return found.values()


def find_duplicates(rows: Iterable[SupporterData]) -> list[list[Match]]:
    """For each row, the stored Likers it likely duplicates, best first."""
    rows = list(rows)
    keys = [match_keys(data) for data in rows]
    by_key: dict[tuple[str, str], list] = {}
    for stored in _candidates(keys):
        for name, value in _stored_keys(stored).items():
            by_key.setdefault((name, value), []).append(stored)
    results = []
    for row_keys in keys:
        reasons: dict[int, tuple[object, list[str]]] = {}
        for name, value in row_keys.items():
            for stored in by_key.get((name, value), []):
                reasons.setdefault(stored.id, (stored, []))[1].append(name)
        matches = [
            Match(
                stored.id,
                stored.registration_number,
                f"{stored.family_name} {stored.given_name}".strip(),
                _score(found),
                found,
            )
            for stored, found in reasons.values()
        ]
        results.append(sorted(matches, key=lambda m: (-m.score, m.supporter_id)))
    return results


def duplicates_within(rows: list[SupporterData]) -> dict[int, tuple[int, int]]:
    """Rows (by position) that repeat an earlier row of the same file:
    position -> (earlier position, score)."""
    seen: dict[tuple[str, str], int] = {}
    repeats: dict[int, tuple[int, int]] = {}
    for position, data in enumerate(rows):
        if data is None:
            continue
        shared: dict[int, list[str]] = {}
        for name, value in match_keys(data).items():
            earlier = seen.get((name, value))
            if earlier is not None:
                shared.setdefault(earlier, []).append(name)
            else:
                seen[(name, value)] = position
        if shared:
            earlier, reasons = max(shared.items(), key=lambda item: _score(item[1]))
            repeats[position] = (earlier, _score(reasons))
    return repeats
