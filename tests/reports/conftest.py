"""PDF helpers: text by pypdf and by pdftotext, pages rendered by pdftoppm."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import require_service


def pypdf_pages(pdf: bytes) -> list[str]:
    """Each page's text with runs of whitespace made one space (pypdf puts the
    footer's page total, a separate PDF object, on a line of its own)."""
    return [
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    require_service(path is not None, f"{tool} (Debian package poppler-utils) is not installed")
    return path  # type: ignore[return-value]


def pdftotext(pdf: bytes, *args: str) -> str:
    result = subprocess.run(
        [poppler("pdftotext"), *args, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def render_page(pdf: bytes, page: int, out: Path, dpi: int = 60) -> bytes:
    """The page as a PGM image (pdftoppm), bytes to compare."""
    source = out / "in.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            poppler("pdftoppm"),
            "-gray",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(source),
            str(out / "page"),
        ],
        check=True,
        capture_output=True,
    )
    return (out / "page.pgm").read_bytes()


@pytest.fixture
def text_of():
    """Both extractors must find what a reader sees: pdftotext (poppler) and pypdf."""

    def extract(pdf: bytes) -> tuple[str, str]:
        return pdftotext(pdf), "\n".join(pypdf_pages(pdf))

    return extract
