"""The audit row of an export: enough to say later what a lost file held.

details of an ``export`` entry (never personal data, only ids):

- ``filter``: the Likers list's query-string keys as {key: [values]} (the search
  box ``q`` included, as typed), or {"event": id} for a roster
- ``format``: xlsx, csv (UTF-8 with BOM) or csv-cp932, with ``replacement``: "〓"
  when staff chose it for characters CP932 lacks; ``columns``: the column keys in
  file order
- ``rows``: the rows written (the Likers; for a roster every line, counts too)
- ``supporter_ids`` (and ``guest_ids`` for a roster): the ids written, sorted, as
  ranges: ``"1-500,502,504-510"``. The file's rows are the rows of these ids, read
  in the same snapshot (crm.exports.snapshot); ids_from_ranges() expands them.
  All 200,000 Likers take 8 characters; a scattered selection of 118,000 of them
  about 500 KB.
"""

from collections.abc import Iterable

from crm.audit.models import AuditEntry
from crm.audit.services import record_event


def id_ranges(ids: Iterable[int]) -> str:
    """Ascending ids as ranges: [1, 2, 3, 5, 7, 8] -> "1-3,5,7-8"; repeats are
    skipped. Reads the ids one by one: 200,000 of them never sit in a list."""
    parts: list[str] = []
    start = previous = None
    for current in ids:
        if previous is not None and current <= previous:
            if current == previous:
                continue
            raise ValueError("ids must come in ascending order")
        if previous is not None and current == previous + 1:
            previous = current
            continue
        if start is not None:
            parts.append(_span(start, previous))
        start = previous = current
    if start is not None:
        parts.append(_span(start, previous))
    return ",".join(parts)


def _span(start: int, end: int) -> str:
    return str(start) if start == end else f"{start}-{end}"


def ids_from_ranges(text: str) -> list[int]:
    """The ids that id_ranges() wrote, in order."""
    ids: list[int] = []
    for part in filter(None, text.split(",")):
        start, _dash, end = part.partition("-")
        ids.extend(range(int(start), int(end or start) + 1))
    return ids


def count_ids(ranges: str) -> int:
    """How many ids id_ranges() wrote, without expanding them."""
    total = 0
    for part in filter(None, ranges.split(",")):
        start, _dash, end = part.partition("-")
        total += int(end or start) - int(start) + 1
    return total


def record_export(
    object_type: str,
    object_id: int | None,
    *,
    used_filter: dict,
    file_format: str,
    columns: list[str],
    supporter_ids: str,
    rows: int,
    **more,
) -> AuditEntry:
    """Add the export's audit row (the caller commits before the file goes out);
    supporter_ids as id_ranges() writes them."""
    # The search text may be part of someone's name: the audit log keeps no personal
    # data, only that there was one (the exported ids say whom the file held).
    if used_filter.get("q"):
        used_filter = {**used_filter, "q": ["(検索語あり)"]}
    details = {
        "filter": used_filter,
        "format": file_format,
        "columns": columns,
        "rows": rows,
        "supporter_ids": supporter_ids,
        **more,
    }
    return record_event("export", object_type, object_id, details)
