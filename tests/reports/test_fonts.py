"""Korean (and other scripts) must show as real glyphs, not boxes."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from reports.build import build
from reports.data import ReportData, ReportTurn
from reports.fonts import CID_FALLBACK, ReportFonts, discover_fonts, register
from tests.conftest import require_service

from .conftest import pdftotext, poppler, render_page

WHEN = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def one_line(text: str) -> ReportData:
    return ReportData(
        session_id="5e0d7d4e-0000-4000-8000-000000000001",
        title="Glyph check",
        candidate="Jane Smith",
        interviewer="John Doe",
        status="Completed",
        generated_at=WHEN,
        turns=(ReportTurn(1, "student", text, WHEN),),
    )


def render_line_page(pdf: bytes, out, **kwargs) -> bytes:
    """The page the one line is on: the transcript, the report's last section."""
    return render_page(pdf, len(PdfReader(io.BytesIO(pdf)).pages), out, **kwargs)


@pytest.fixture(scope="module")
def korean_fonts() -> ReportFonts:
    fonts = discover_fonts()
    require_service(
        fonts.regular is not None,
        "no TrueType Korean font ReportLab can embed (install fonts-nanum)",
    )
    return fonts


def pdffonts(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [poppler("pdffonts"), str(path)], capture_output=True, check=True, text=True
    ).stdout


def test_the_korean_font_is_embedded(korean_fonts, tmp_path):
    pdf = build(one_line("저는 소프트웨어 엔지니어입니다"), fonts=korean_fonts)
    rows = [line.split() for line in pdffonts(pdf, tmp_path).splitlines()[2:]]
    # name type... emb sub uni: the subset that draws the text is embedded.
    embedded = {row[0].split("+")[-1] for row in rows if row[-5] == "yes"}
    face = pdfmetrics.getFont(register(korean_fonts).regular).face.name
    assert (face.decode() if isinstance(face, bytes) else face) in embedded
    assert "저는 소프트웨어 엔지니어입니다" in pdftotext(pdf)


def test_hangul_renders_as_distinct_glyphs_not_boxes(korean_fonts, tmp_path):
    """Missing glyphs all draw the same box; real ones differ from each other
    and from that box."""
    pages = {
        text: render_line_page(build(one_line(text * 8), fonts=korean_fonts), tmp_path, dpi=72)
        for text in ("가", "나", "\ue000")  # U+E000: private use, in no font
    }
    assert pages["가"] != pages["나"]
    assert pages["가"] != pages["\ue000"]
    assert pages["나"] != pages["\ue000"]


def test_noto_cjk_collections_are_refused_and_something_else_is_used(korean_fonts):
    # ReportLab cannot embed the CFF outlines of Debian's Noto CJK .ttc files.
    if not shutil.os.path.isfile(NOTO_CJK):
        pytest.skip("fonts-noto-cjk not installed")
    assert korean_fonts.regular.path != NOTO_CJK


def test_a_font_path_setting_that_cannot_be_used_falls_back_with_a_warning(caplog, korean_fonts):
    with caplog.at_level(logging.WARNING, logger="reports.fonts"):
        fonts = discover_fonts("/nonexistent/font.ttf")
    assert fonts.regular == korean_fonts.regular
    assert "cannot be used" in caplog.text


def test_a_font_path_setting_is_used_first(korean_fonts):
    alternative = "/usr/share/fonts/truetype/nanum/NanumMyeongjo.ttf"
    if not shutil.os.path.isfile(alternative):
        pytest.skip("NanumMyeongjo not installed")
    fonts = discover_fonts(alternative)
    assert fonts.regular.path == alternative
    assert "저는" in pdftotext(build(one_line("저는 면접자입니다"), fonts=fonts))


def test_without_a_truetype_korean_font_the_cid_font_shows_korean(tmp_path):
    cid_only = ReportFonts(regular=None)
    assert not register(cid_only).embedded
    pdf = build(one_line("저는 소프트웨어 엔지니어입니다"), fonts=cid_only)
    assert CID_FALLBACK in pdffonts(pdf, tmp_path)
    assert "저는 소프트웨어 엔지니어입니다" in pdftotext(pdf)
    # poppler substitutes an installed CJK font for the non-embedded CID font.
    first = render_line_page(build(one_line("가" * 8), fonts=cid_only), tmp_path)
    second = render_line_page(build(one_line("나" * 8), fonts=cid_only), tmp_path)
    assert first != second


def test_names_and_answers_in_other_scripts_are_on_the_page(korean_fonts):
    data = replace(one_line("Ответ на вопрос"), candidate="Ἀλέξανδρος Иванов 김민준")
    text = pdftotext(build(data, fonts=korean_fonts))
    assert "Ἀλέξανδρος Иванов 김민준" in text
    assert "Ответ на вопрос" in text
