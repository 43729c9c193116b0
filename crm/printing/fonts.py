"""Japanese fonts for PDFs: embedded TrueType, checked character by character.

reportlab's built-in CID fonts are not embedded (each viewer substitutes its own) and
cannot show 𠮷 at all, so text is set in embedded TrueType fonts: IPAex (Debian's
fonts-ipaexfont-*) or Windows' BIZ UD fonts, falling back per character to IPAmj
Mincho (fonts-ipamj-mincho, which has the extension-B kanji such as 𠮷) and Symbola.
A character that no font has is reported, never printed as an empty box.
"""

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

# (reportlab name, file name, index in a .ttc collection), the preferred first.
FACES = {
    "gothic": [
        ("IPAexGothic", "ipaexg.ttf", 0),
        ("BIZUDGothic", "BIZ-UDGothicR.ttc", 0),
    ],
    "mincho": [
        ("IPAexMincho", "ipaexm.ttf", 0),
        ("BIZUDMincho", "BIZ-UDMinchoM.ttc", 0),
    ],
}
FALLBACKS = [("IPAmjMincho", "ipamjm.ttf", 0), ("Symbola", "Symbola.ttf", 0)]
SYSTEM_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    os.path.expanduser("~/.fonts"),
    "C:/Windows/Fonts",
)


def _utf16_hex(code_point: int) -> str:
    return chr(code_point).encode("utf-16-be", "surrogatepass").hex().upper()


_reportlab_to_unicode_cmap = ttfonts.makeToUnicodeCMap


def _to_unicode_cmap(fontname, subset):
    """reportlab's ToUnicode CMap with characters beyond U+FFFF as UTF-16 pairs.

    reportlab writes every code point as "%04X", so 𠮷 (U+20BB7) becomes the
    invalid <20BB7>: it prints right but copies and searches as "₻" (U+20BB).
    """
    cmap = _reportlab_to_unicode_cmap(fontname, subset)
    for index, code_point in enumerate(subset):
        if code_point > 0xFFFF:
            cmap = cmap.replace(
                f"<{index:02X}> <{code_point:04X}>",
                f"<{index:02X}> <{_utf16_hex(code_point)}>",
            )
    return cmap


ttfonts.makeToUnicodeCMap = _to_unicode_cmap


class FontsMissing(Exception):
    """No usable Japanese TrueType font was found; the message says what to install."""


def find_font_file(file_name: str, folders: tuple[str, ...] = ()) -> Path | None:
    """The first file of that name in the configured folders, then the system's."""
    for folder in (*folders, *SYSTEM_FONT_DIRS):
        root = Path(folder)
        if not root.is_dir():
            continue
        direct = root / file_name
        if direct.is_file():
            return direct
        for found in root.rglob(file_name):
            return found
    return None


@cache
def _load(name: str, path: str, index: int) -> TTFont:
    font = TTFont(name, path, subfontIndex=index)
    pdfmetrics.registerFont(font)
    return font


@dataclass
class FontSet:
    """A main face and its fallbacks, for one style (gothic or mincho)."""

    fonts: list[TTFont]
    _covers: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.fonts[0].fontName

    def font_for(self, char: str) -> str | None:
        """The first font that has a glyph for this character, or None."""
        if char not in self._covers:
            code = ord(char)
            self._covers[char] = next(
                (f.fontName for f in self.fonts if code in f.face.charToGlyph),
                None,
            )
        return self._covers[char]

    def missing(self, text: str) -> list[str]:
        """Characters of text that no font of the set can show (spaces aside)."""
        return sorted({c for c in text if not c.isspace() and self.font_for(c) is None})

    def runs(self, text: str) -> list[tuple[str, str]]:
        """text cut into (font name, piece) runs, each piece set in one font."""
        pieces: list[tuple[str, str]] = []
        for char in text:
            font = self.font_for(char) or self.name
            if pieces and pieces[-1][0] == font:
                pieces[-1] = (font, pieces[-1][1] + char)
            else:
                pieces.append((font, char))
        return pieces

    def width(self, text: str, size: float) -> float:
        return sum(
            pdfmetrics.stringWidth(piece, font, size) for font, piece in self.runs(text)
        )


def font_set(style: str = "gothic", folders: tuple[str, ...] = ()) -> FontSet:
    """The fonts for a style, registered with reportlab once per process."""
    main = None
    for name, file_name, index in FACES[style]:
        path = find_font_file(file_name, folders)
        if path is not None:
            main = _load(name, str(path), index)
            break
    if main is None:
        wanted = " or ".join(file_name for _, file_name, _ in FACES[style])
        raise FontsMissing(
            f"No Japanese font for {style} printing ({wanted}). On Debian: apt-get "
            "install fonts-ipaexfont-gothic fonts-ipaexfont-mincho fonts-ipamj-mincho"
        )
    fallbacks = []
    for name, file_name, index in FALLBACKS:
        path = find_font_file(file_name, folders)
        if path is not None:
            fallbacks.append(_load(name, str(path), index))
    return FontSet([main, *fallbacks])
