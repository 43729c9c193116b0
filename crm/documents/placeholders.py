"""Placeholders in the texts staff write for documents: {事業名}, {氏名} and so on.

Filled by plain substitution, never str.format: a text typed in settings must not
reach attributes of the values it names.
"""

import re

# Japanese name -> English alias; the Japanese names are the ones shown to staff.
PLACEHOLDERS = {
    "事業名": "programme",
    "市町村名": "town",
    "呼称": "word",
    "氏名": "name",
    "登録番号": "number",
    "登録日": "registered",
    "発行日": "issued",
}
_ALIASES = {english: japanese for japanese, english in PLACEHOLDERS.items()}
_PLACEHOLDER = re.compile(r"[{｛]([^{}｛｝]{1,20})[}｝]")


def _key(name: str) -> str | None:
    name = name.strip()
    if name in PLACEHOLDERS:
        return name
    return _ALIASES.get(name.lower())


def unknown_placeholders(template: str) -> list[str]:
    """The {…} names in template that are not placeholders, in order of appearance."""
    found = [m.group(1) for m in _PLACEHOLDER.finditer(template or "")]
    return list(dict.fromkeys(name for name in found if _key(name) is None))


def fill(template: str, values: dict[str, str]) -> str:
    """template with each known {…} replaced by values[<Japanese name>].

    Full-width braces (｛氏名｝, typed with the IME on) count too; unknown names stay
    as typed, and the settings form refuses them before they reach paper.
    """

    def replace(match: re.Match) -> str:
        key = _key(match.group(1))
        return values.get(key, match.group(0)) if key else match.group(0)

    return _PLACEHOLDER.sub(replace, template or "")
