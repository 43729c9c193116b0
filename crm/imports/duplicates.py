"""Likely duplicates: the same email, the same phone, the same reading and birth date,
or the same name and postal code — each with a score staff can weigh.

Keys are the registry's search keys (crm.japanese), so full-width and half-width,
hyphens and spaces, katakana and hiragana, 髙 and 高 all meet. Phone numbers written
internationally (+81 90 …) meet their domestic form (090 …).
"""

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from crm.extensions import db
from crm.japanese import email_key, kana_key, name_key, phone_key
from crm.supporters.models import Supporter
from crm.supporters.services import SupporterData

# (key name, score): how sure a match on that key alone makes us.
SCORES = {"email": 95, "phone": 85, "kana_birth": 80, "name_postal": 70}
LIKELY = 70  # from this score, staff are asked before a new Liker is created
CHUNK = 100  # keys per query: SQLite then still reads them through the index


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
    """Stored Likers sharing any key with these, read through the key indexes.

    A reading is shared by many (hundreds, in the demo data), so readings are
    asked together with the birth dates that go with them.
    """
    emails = {k["email"] for k in keys if "email" in k}
    phones = {k["phone"] for k in keys if "phone" in k}
    phones |= {"81" + p[1:] for p in phones}  # stored as typed: +81 … or 0 …
    born: dict[str, set[date]] = {}  # reading -> birth dates
    for k in keys:
        if "kana_birth" in k:
            kana, birth_date = k["kana_birth"].split("|")
            born.setdefault(kana, set()).add(date.fromisoformat(birth_date))
    names = {k["name_postal"].split("|")[0] for k in keys if "name_postal" in k}
    columns = (
        Supporter.id, Supporter.registration_number, Supporter.family_name,
        Supporter.given_name, Supporter.email_key, Supporter.phone_key,
        Supporter.kana_key, Supporter.birth_date, Supporter.name_key,
        Supporter.postal_code,
    )  # fmt: skip
    found = {}
    for column, values, with_column, with_values in (
        (Supporter.email_key, emails, None, None),
        (Supporter.phone_key, phones, None, None),
        (Supporter.kana_key, born, Supporter.birth_date, born),
        (Supporter.name_key, names, None, None),
    ):
        values = sorted(values)
        for start in range(0, len(values), CHUNK):
            part = values[start : start + CHUNK]
            statement = select(*columns).where(
                column.in_(part),
                Supporter.status != "merged",  # its survivor is found instead
            )
            if with_column is not None:
                also = set().union(*(with_values[value] for value in part))
                statement = statement.where(with_column.in_(sorted(also)))
            for row in db.session.execute(statement):
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


class FirstLines:
    """For each key seen in a file so far, the first line that had it.

    Kept in a private temporary SQLite database (a file the sqlite3 module
    deletes on close, with its small page cache), not in a dict: the keys of a
    100,000-row file would take about 100 MB of memory as Python strings.
    Looked up and added to a chunk of rows at a time.
    """

    def __init__(self):
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE first_lines (key TEXT PRIMARY KEY, line INTEGER NOT NULL)"
            " WITHOUT ROWID"
        )

    def lines_of(self, keys: Iterable[str]) -> dict[str, int]:
        """The first lines of those keys that were seen before."""
        keys = list(set(keys))
        found: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))  # placeholders only
            query = f"SELECT key, line FROM first_lines WHERE key IN ({marks})"  # noqa: S608
            found.update(self._db.execute(query, part))
        return found

    def add(self, first: dict[str, int]) -> None:
        """Keys seen for the first time, with their lines."""
        self._db.executemany("INSERT INTO first_lines VALUES (?, ?)", first.items())

    def close(self) -> None:
        self._db.close()


class RepeatsWithinFile:
    """Rows that repeat an earlier row of the same file, found a chunk at a time.

    Rows are given in file order; a row repeats the earliest row that shares one
    of its keys (the best-scored one when it shares keys with several).
    """

    def __init__(self):
        self._first = FirstLines()

    def check(
        self, rows: list[tuple[int, SupporterData]]
    ) -> dict[int, tuple[int, int]]:
        """line -> (earlier line, score) for the rows (line, data) that repeat one."""
        keyed = [
            (line, [(name, f"{name}\x1f{value}")
                    for name, value in match_keys(data).items()])
            for line, data in rows
        ]  # fmt: skip
        earlier_lines = self._first.lines_of(
            k for _line, keys in keyed for _n, k in keys
        )
        first: dict[str, int] = {}
        repeats: dict[int, tuple[int, int]] = {}
        for line, keys in keyed:
            shared: dict[int, list[str]] = {}
            for name, key in keys:
                earlier = earlier_lines.get(key, first.get(key))
                if earlier is not None:
                    shared.setdefault(earlier, []).append(name)
                else:
                    first[key] = line
            if shared:
                earlier, reasons = max(shared.items(), key=lambda item: _score(item[1]))
                repeats[line] = (earlier, _score(reasons))
        self._first.add(first)
        return repeats

    def close(self) -> None:
        self._first.close()
