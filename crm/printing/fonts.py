"""Japanese fonts for PDFs: embedded TrueType, checked character by character.

reportlab's built-in CID fonts are not embedded (each viewer substitutes its own) and
cannot show 𠮷 at all, so text is set in embedded TrueType fonts: IPAex (Debian's
fonts-ipaexfont-*) or Windows' BIZ UD fonts, falling back per character to IPAmj
Mincho (fonts-ipamj-mincho, which has the extension-B kanji such as 𠮷) and Symbola.
A character that no font has is reported, never printed as an empty box.
"""

import mmap
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
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


class _MappedFile:
    """A font file that reportlab's parser reads as a memory map, not as bytes.

    reportlab keeps the whole file until the PDF is saved, to take the glyphs it
    embeds: read into memory, IPAmj Mincho took 70 MB; mapped, only the pages the
    parser touches are resident (27 MB), and the glyphs drawn when it embeds them.
    """

    def __init__(self, path: str):
        self.name = path

    def read(self) -> mmap.mmap:
        with open(self.name, "rb") as file:
            return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


class _Window:
    """A table of a mapped font file, sliced out glyph by glyph when asked."""

    def __init__(self, data: mmap.mmap, start: int, length: int):
        self.data, self.start, self.length = data, start, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: slice) -> bytes:
        start, stop, _step = key.indices(self.length)
        return self.data[self.start + start : self.start + stop]


def _glyphs_from_the_map(face) -> None:
    """Let reportlab take the glyphs it embeds straight from the mapped file.

    To embed a subset it copies the font's whole glyf table and picks a few glyphs
    from it: 40 MB for IPAmj Mincho, with the whole file read from disk. It only
    slices that table (reportlab 5), so a window on the map does.
    """
    get_table = face.get_table

    def table(tag: str):
        if tag != "glyf":
            return get_table(tag)
        start, length = face.get_table_pos(tag)
        return _Window(face._ttf_data, start, length)

    face.get_table = table


@cache
def _load(name: str, path: str, index: int) -> TTFont:
    font = TTFont(name, _MappedFile(path), subfontIndex=index)
    _glyphs_from_the_map(font.face)
    pdfmetrics.registerFont(font)
    return font


@dataclass(frozen=True)
class FontFile:
    """A font found on disk and not loaded yet: (reportlab name, path, .ttc index)."""

    name: str
    path: str
    index: int = 0

    def load(self) -> TTFont:
        return _load(self.name, self.path, self.index)


@dataclass
class FontSet:
    """A main face and its fallbacks, for one style (gothic or mincho).

    A fallback is read only when a character needs it: IPAmj Mincho takes about
    27 MB of memory even mapped, and most print runs never ask for it.
    """

    main: TTFont
    fallbacks: list[FontFile] = field(default_factory=list)
    embedded: bool = True  # False: reportlab's CID font, the last resort
    _covers: dict = field(default_factory=dict, repr=False)
    _runs: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.main.fontName

    @property
    def fonts(self) -> list[TTFont]:
        """The main face and every fallback, all loaded."""
        return [self.main, *(fallback.load() for fallback in self.fallbacks)]

    def font_for(self, char: str) -> str | None:
        """The first font that has a glyph for this character, or None."""
        if char not in self._covers:
            code = ord(char)
            if code in self.main.face.charToGlyph:
                self._covers[char] = self.main.fontName
            else:
                self._covers[char] = next(
                    (
                        fallback.name
                        for fallback in self.fallbacks
                        if code in fallback.load().face.charToGlyph
                    ),
                    None,
                )
        return self._covers[char]

    def missing(self, text: str) -> list[str]:
        """Characters of text that no font of the set can show (spaces aside)."""
        return sorted({c for c in text if not c.isspace() and self.font_for(c) is None})

    def runs(self, text: str) -> list[tuple[str, str]]:
        """text cut into (font name, piece) runs, each piece set in one font.

        A string the main face cannot show whole is set whole in the first
        fallback that can: 𠮷田 all in IPAmj Mincho rather than 𠮷 in Mincho beside
        田 in Gothic. Only where no font has every character is it mixed.
        """
        found = self._runs.get(text)
        if found is not None:
            return found
        fonts = [self.font_for(char) or self.name for char in text]
        if any(font != self.name for font in fonts):
            whole = next(
                (
                    fallback.name
                    for fallback in self.fallbacks
                    if all(
                        ord(char) in fallback.load().face.charToGlyph or char.isspace()
                        for char in text
                    )
                ),
                None,
            )
            if whole is not None:
                fonts = [whole] * len(text)
        pieces: list[tuple[str, str]] = []
        for char, font in zip(text, fonts, strict=True):
            if pieces and pieces[-1][0] == font:
                pieces[-1] = (font, pieces[-1][1] + char)
            else:
                pieces.append((font, char))
        if len(self._runs) > 20_000:  # names are many, headings few: keep it small
            self._runs.clear()
        self._runs[text] = pieces
        return pieces

    def width(self, text: str, size: float) -> float:
        return sum(
            pdfmetrics.stringWidth(piece, font, size) for font, piece in self.runs(text)
        )


class _BasicMultilingualPlane:
    """What a CID font is taken to cover: it cannot be asked, and has nothing
    beyond U+FFFF (no 𠮷)."""

    def __contains__(self, code: int) -> bool:
        return code <= 0xFFFF


@dataclass(frozen=True)
class _CidFace:
    charToGlyph: _BasicMultilingualPlane  # noqa: N815 (reportlab's name)


@dataclass(frozen=True)
class _CidFont:
    fontName: str  # noqa: N815 (reportlab's name)
    face: _CidFace


CID_FONTS = {"gothic": "HeiseiKakuGo-W5", "mincho": "HeiseiMin-W3"}


@cache
def _cid_font(style: str) -> _CidFont:
    name = CID_FONTS[style]
    pdfmetrics.registerFont(UnicodeCIDFont(name))
    return _CidFont(name, _CidFace(_BasicMultilingualPlane()))


def font_set(
    style: str = "gothic", folders: tuple[str, ...] = (), allow_cid: bool = False
) -> FontSet:
    """The fonts for a style, each registered with reportlab once per process.

    The main face is loaded now; the fallbacks when a character first needs them.
    Without any Japanese TrueType font: FontsMissing, or with allow_cid reportlab's
    CID font, which is not embedded (each viewer substitutes its own) — the last
    resort, and the caller warns (FontSet.embedded is false).
    """
    main = None
    for name, file_name, index in FACES[style]:
        path = find_font_file(file_name, folders)
        if path is not None:
            main = _load(name, str(path), index)
            break
    if main is None and allow_cid:
        return FontSet(_cid_font(style), [], embedded=False)
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
            fallbacks.append(FontFile(name, str(path), index))
    return FontSet(main, fallbacks)
