"""The audit log's hash chain: each row's SHA-256 covers its content and the hash
of the row before it, so a row changed or removed later breaks the chain.

Plain functions over values; crm.audit.models hashes each row as it is inserted,
verify_chain() recomputes them all. The migration that introduced the chain used
entry_hash() to hash the rows that were already there.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64
# The columns a row's hash covers, in this order (id is not among them: on
# PostgreSQL it comes from a sequence only when the row is inserted).
HASHED = (
    "at",
    "user_id",
    "action",
    "object_type",
    "object_id",
    "details",
    "ip_address",
)


def canonical(values: dict) -> str:
    """The row's content as one JSON text: keys sorted, no spaces, times to the µs."""
    content = {}
    for name in HASHED:
        value = values.get(name)
        if isinstance(value, datetime):
            value = value.replace(tzinfo=None).isoformat(timespec="microseconds")
        content[name] = value
    return json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def entry_hash(prev_hash: str, values: dict) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(values)}".encode()).hexdigest()


@dataclass
class ChainCheck:
    """What verify_chain() found: ok, or the first row that does not hold."""

    rows: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_rows(rows: Iterable[dict]) -> ChainCheck:
    """Check rows (dicts with id, prev_hash, hash and the HASHED columns) in id order."""
    previous = GENESIS
    count = 0
    for row in rows:
        count += 1
        if row["prev_hash"] != previous:
            return ChainCheck(count, row["id"], "prev_hash")
        if row["hash"] != entry_hash(previous, row):
            return ChainCheck(count, row["id"], "hash")
        previous = row["hash"]
    return ChainCheck(count)


def chained(rows: Iterable[dict], prev_hash: str = GENESIS) -> Iterator[tuple]:
    """(id, prev_hash, hash) for rows without a chain yet (the first migration)."""
    for row in rows:
        digest = entry_hash(prev_hash, row)
        yield row["id"], prev_hash, digest
        prev_hash = digest
