"""Fonts for the report: find ones ReportLab can embed, and pick one per character.

ReportLab embeds TrueType-outline fonts only. Debian's fonts-noto-cjk ships
OpenType/CFF collections, which ReportLab refuses ("postscript outlines are
not supported"), so the search prefers TrueType Korean fonts (fonts-nanum,
fonts-unfonts-core, fonts-baekmuk) and still tries Noto CJK in case a later
ReportLab reads it. Characters the main font lacks go to fallback fonts
(DejaVu Sans for Greek, Cyrillic, Arabic...), and with no Korean TrueType
font at all, Hangul and Han characters go to ReportLab's built-in CID font
HYSMyeongJo-Medium, which is not embedded: the PDF viewer supplies the glyphs.
Han characters that no embedded font has go to the CID font STSong-Light the
same way.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

CID_FALLBACK = "HYSMyeongJo-Medium"
# A character every Korean-capable font has; the search's acceptance test.
HANGUL_PROBE = "한"

# (regular, bold) pairs, best first. Globs so versions/paths may vary a little.
KOREAN_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf", "NanumGothicBold.ttf"),
    ("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf", "NanumBarunGothicBold.ttf"),
    ("/usr/share/fonts/truetype/unfonts-core/UnDotum.ttf", "UnDotumBold.ttf"),
    ("/usr/share/fonts/truetype/baekmuk/gulim.ttf", ""),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"),
    ("/Library/Fonts/NanumGothic.ttf", "NanumGothicBold.ttf"),
)
FALLBACK_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
)
# What the CID fonts show, for characters no embedded font has.
HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7A3))
HAN_CID_FALLBACK = "STSong-Light"
HAN_RANGES = (
    (0x3000, 0x30FF),  # CJK punctuation, kana
    (0x3400, 0x9FFF),  # Han
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),  # full-width forms
)
# Helvetica's WinAnsi encoding: what the built-in fonts can show.
_WINANSI = frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x100))
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class FontFile:
    path: str
    subfont_index: int = 0


@dataclass(frozen=True)
class ReportFonts:
    """Which files to use. `regular` None means built-in fonts plus the CID font."""

    regular: FontFile | None
    bold: FontFile | None = None
    fallbacks: tuple[FontFile, ...] = ()

    @property
    def description(self) -> str:
        if self.regular is None:
            return f"Helvetica + {CID_FALLBACK} (not embedded)"
        return os.path.basename(self.regular.path)


def _load(font: FontFile) -> TTFont:
    name = "rpt-" + hashlib.sha1(f"{font.path}#{font.subfont_index}".encode()).hexdigest()[:10]
    return TTFont(name, font.path, subfontIndex=font.subfont_index)


def _korean_font(path: str) -> FontFile | None:
    """The first face of `path` that ReportLab loads and that has Hangul."""
    for index in range(8 if path.lower().endswith((".ttc", ".otc")) else 1):
        try:
            face = _load(FontFile(path, index)).face
        except (TTFError, OSError) as exc:
            log.debug("font %s#%d unusable: %s", path, index, exc)
            if "postscript outlines" in str(exc) or "subfontIndex" in str(exc):
                return None
            continue
        if ord(HANGUL_PROBE) in face.charToGlyph:
            return FontFile(path, index)
    return None


def discover_fonts(override: str = "") -> ReportFonts:
    """Search the file system; `override` (settings.RT.report_font_path) goes first."""
    return _discover(override)


_discovered: dict[str, ReportFonts] = {}
_lock = threading.Lock()


def _discover(override: str) -> ReportFonts:
    with _lock:
        if override in _discovered:
            return _discovered[override]
        fonts = _search(override)
        _discovered[override] = fonts
        log.info("report fonts: %s", fonts.description)
        return fonts


def _search(override: str) -> ReportFonts:
    fallbacks = tuple(FontFile(p) for p in FALLBACK_CANDIDATES if os.path.isfile(p))
    if override:
        chosen = _usable(override)
        if chosen is not None:
            return ReportFonts(regular=chosen, bold=chosen, fallbacks=fallbacks)
        log.warning("report_font_path %s cannot be used by ReportLab; searching", override)
    for pattern, bold_name in KOREAN_CANDIDATES:
        for path in sorted(glob.glob(pattern)):
            regular = _korean_font(path)
            if regular is None:
                continue
            bold_path = os.path.join(os.path.dirname(path), bold_name) if bold_name else ""
            bold = _korean_font(bold_path) if bold_path and os.path.isfile(bold_path) else None
            return ReportFonts(regular=regular, bold=bold or regular, fallbacks=fallbacks)
    return ReportFonts(regular=None, fallbacks=fallbacks)


def _usable(path: str) -> FontFile | None:
    if not os.path.isfile(path):
        return None
    korean = _korean_font(path)
    if korean is not None:
        return korean
    try:  # a font without Hangul is still the operator's choice
        _load(FontFile(path))
    except (TTFError, OSError):
        return None
    log.warning("report_font_path %s has no Hangul; Korean falls back", path)
    return FontFile(path)


@dataclass
class FontChain:
    """Registered font names plus, per character, the font that can draw it."""

    regular: str
    bold: str
    embedded: bool
    _coverage: list[tuple[str, object]] = field(default_factory=list)
    _choice: dict[str, str | None] = field(default_factory=dict)

    def font_for(self, char: str) -> str | None:
        """None: the paragraph's own font draws it."""
        try:
            return self._choice[char]
        except KeyError:
            pass
        code = ord(char)
        chosen: str | None = None
        if not self._covers(0, code):
            for name, covers in self._coverage[1:]:
                if _has(covers, code):
                    chosen = name
                    break
        self._choice[char] = chosen
        return chosen

    def _covers(self, index: int, code: int) -> bool:
        return _has(self._coverage[index][1], code)

    def runs(self, text: str) -> Iterator[tuple[str | None, str]]:
        start, current = 0, None
        for i, char in enumerate(text):
            font = None if char.isspace() else self.font_for(char)
            if font != current and not char.isspace():
                if i > start:
                    yield current, text[start:i]
                start, current = i, font
        if start < len(text):
            yield current, text[start:]

    def markup(self, text: object) -> str:
        """Paragraph markup for plain user text: escaped, line breaks kept, fonts switched."""
        clean = _CONTROL.sub("", str(text))
        parts = []
        for font, chunk in self.runs(clean):
            escaped = escape(chunk).replace("\n", "<br/>")
            parts.append(escaped if font is None else f'<font face="{font}">{escaped}</font>')
        return "".join(parts)


def _has(covers: object, code: int) -> bool:
    if callable(covers):
        return covers(code)
    return code in covers  # type: ignore[operator]


def _in_ranges(ranges: tuple[tuple[int, int], ...]):
    return lambda code: any(lo <= code <= hi for lo, hi in ranges)


_chains: dict[ReportFonts, FontChain] = {}


def register(fonts: ReportFonts) -> FontChain:
    """Register the fonts with ReportLab once per process; a fresh chain per call
    (its per-character cache is not shared between threads)."""
    with _lock:
        template = _chains.get(fonts)
        if template is None:
            template = _register(fonts)
            _chains[fonts] = template
    chain = FontChain(template.regular, template.bold, template.embedded)
    chain._coverage = template._coverage
    return chain


def _register(fonts: ReportFonts) -> FontChain:
    coverage: list[tuple[str, object]] = []
    if fonts.regular is not None:
        regular = _load(fonts.regular)
        bold = _load(fonts.bold) if fonts.bold and fonts.bold != fonts.regular else regular
        for font in {regular.fontName: regular, bold.fontName: bold}.values():
            pdfmetrics.registerFont(font)
        coverage.append((regular.fontName, frozenset(regular.face.charToGlyph)))
        names = (regular.fontName, bold.fontName)
    else:
        coverage.append(("Helvetica", _WINANSI))
        names = ("Helvetica", "Helvetica-Bold")
    for fallback in fonts.fallbacks:
        try:
            font = _load(fallback)
        except (TTFError, OSError) as exc:
            log.warning("fallback font %s unusable: %s", fallback.path, exc)
            continue
        pdfmetrics.registerFont(font)
        coverage.append((font.fontName, frozenset(font.face.charToGlyph)))
    if fonts.regular is None:
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
        coverage.append((CID_FALLBACK, _in_ranges(HANGUL_RANGES)))
    # Han characters beyond the embedded fonts (Nanum has the KS X 1001 hanja only).
    pdfmetrics.registerFont(UnicodeCIDFont(HAN_CID_FALLBACK))
    coverage.append((HAN_CID_FALLBACK, _in_ranges(HAN_RANGES)))
    regular_name, bold_name = names
    # So <b> inside a paragraph picks the bold face.
    addMapping(regular_name, 0, 0, regular_name)
    addMapping(regular_name, 1, 0, bold_name)
    addMapping(regular_name, 0, 1, regular_name)
    addMapping(regular_name, 1, 1, bold_name)
    chain = FontChain(regular_name, bold_name, embedded=fonts.regular is not None)
    chain._coverage = coverage
    return chain
