"""The report's page furniture: page size and margins, colours, paragraph
styles, the document template (bookmarks), the running header, the footer
with "Page N of M", and rendering a story of flowables to PDF bytes.

Like the rest of the build, pure: no ORM, no Django settings, no clock.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
)

from .data import ReportData
from .fonts import FontChain

PAGE = A4
MARGIN = 16 * mm
CONTENT_WIDTH = PAGE[0] - 2 * MARGIN
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
SHADE = colors.HexColor("#f0f4f8")
LINK = colors.HexColor("#1f5fa8")
UNFINISHED = colors.HexColor("#b44d12")


def render(
    data: ReportData, chain: FontChain, styles: dict[str, ParagraphStyle], story: list[Flowable]
) -> bytes:
    """`story` laid out on the report's pages, as PDF bytes."""
    buffer = io.BytesIO()
    doc = ReportDoc(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 4 * mm,
        bottomMargin=MARGIN + 4 * mm,
        title=f"Interview report: {data.candidate} ({data.title})",
        author=data.interviewer,
        subject=f"Session {data.session_id}",
        creator="interview-rt",
        invariant=1,
        lang=data.language or None,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    header = running_header(f"{data.title} — {data.candidate}", chain, styles["running"])
    doc.addPageTemplates([PageTemplate("page", [frame], onPage=header)])
    footer = (
        f"Session {data.session_id} · generated "
        f"{data.generated_at.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}"
    )
    doc.build(story, canvasmaker=numbered_canvas(chain.regular, footer, data.generated_at))
    return buffer.getvalue()


def running_header(
    text: str, chain: FontChain, style: ParagraphStyle
) -> Callable[[Canvas, BaseDocTemplate], None]:
    """The page hook that draws `text` (cut to fit) and a rule atop every page but the first."""

    def decorate(canvas: Canvas, doc: BaseDocTemplate) -> None:
        if doc.page == 1:
            return
        canvas.saveState()
        canvas.setFont(chain.regular, 7.5)
        canvas.setFillColor(MUTED)
        y = PAGE[1] - MARGIN + 2 * mm
        header = _fit(text, chain.regular, 7.5)
        if all(chain.font_for(c) is None for c in header if not c.isspace()):
            canvas.drawString(MARGIN, y, header)
        else:  # a name in another script: a one-line paragraph keeps the font fallback
            para = Paragraph(chain.markup(header), style)
            para.wrapOn(canvas, CONTENT_WIDTH, 12)
            para.drawOn(canvas, MARGIN, y - 2)
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, y - 3, PAGE[0] - MARGIN, y - 3)
        canvas.restoreState()

    return decorate


class ReportDoc(BaseDocTemplate):
    """Bookmarks every flowable with an `outline` attribute: (title, key, level)."""

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 (ReportLab hook)
        outline = getattr(flowable, "outline", None)
        if outline:
            title, key, level = outline
            self.canv.addOutlineEntry(
                title, key, level=level, closed=level == 0 and key == "transcript"
            )


TOTAL_PAGES_FORM = "totalPages"
TOTAL_PAGES_WIDTH = 18  # room for "9999" at the footer's size


def numbered_canvas(font: str, footer: str, generated_at: datetime) -> type[Canvas]:
    """A canvas whose footer reads "Page N of M".

    M is a form XObject drawn on every page and defined once the last page is
    done, so the document is laid out in one pass and pages are emitted as they
    finish (deferring showPage instead would bind every link to page 1).
    """
    stamp = generated_at.strftime("D:%Y%m%d%H%M%S") + ("{}{}'{}'".format(*_offset(generated_at)))
    baseline = MARGIN - 3 * mm

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: stamp)
            self.showOutline()

        def showPage(self):  # noqa: N802 (ReportLab's name)
            self.saveState()
            self.setFont(font, 7.5)
            self.setFillColor(MUTED)
            self.setStrokeColor(RULE)
            self.line(MARGIN, MARGIN + 1 * mm, PAGE[0] - MARGIN, MARGIN + 1 * mm)
            self.drawString(MARGIN, baseline, footer)
            total_x = PAGE[0] - MARGIN - TOTAL_PAGES_WIDTH
            self.drawRightString(total_x, baseline, f"Page {self.getPageNumber()} of ")
            self.translate(total_x, baseline)
            self.doForm(TOTAL_PAGES_FORM)
            self.restoreState()
            super().showPage()

        def save(self):
            self.beginForm(TOTAL_PAGES_FORM)
            self.setFont(font, 7.5)
            self.setFillColor(MUTED)
            self.drawString(0, 0, str(self.getPageNumber() - 1))
            self.endForm()
            super().save()

    return NumberedCanvas


def _offset(moment: datetime) -> tuple[str, str, str]:
    delta = moment.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta else 0
    sign = "+" if minutes >= 0 else "-"
    return sign, f"{abs(minutes) // 60:02d}", f"{abs(minutes) % 60:02d}"


def _fit(text: str, font: str, size: float, width: float = CONTENT_WIDTH) -> str:
    """The text, cut with an ellipsis to fit one line of `width`."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[: max(0, len(text) - max(1, len(text) // 20))]
    return text + "…"


def paragraph_styles(chain: FontChain) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "body", fontName=chain.regular, fontSize=9, leading=12.5, textColor=INK, spaceAfter=3
    )

    def style(name: str, **kw) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, **kw)

    return {
        "body": base,
        "kicker": style("kicker", fontSize=8, textColor=MUTED, spaceAfter=0),
        "title": style("title", fontName=chain.bold, fontSize=18, leading=22, spaceAfter=2),
        "h1": style(
            "h1", fontName=chain.bold, fontSize=13, leading=16, spaceBefore=10, spaceAfter=5
        ),
        "h2": style(
            "h2",
            fontName=chain.bold,
            fontSize=10,
            leading=13,
            spaceBefore=8,
            spaceAfter=3,
            textColor=colors.HexColor("#243b53"),
        ),
        "label": style("label", fontSize=7.5, leading=10, textColor=MUTED, spaceAfter=0),
        "cell": style("cell", fontSize=8, leading=10.5, spaceAfter=0),
        "cellcenter": style(
            "cellcenter", fontSize=9, leading=11, alignment=TA_CENTER, spaceAfter=0
        ),
        "small": style("small", fontSize=8, leading=10.5),
        "muted": style("muted", fontSize=8, leading=10.5, textColor=MUTED),
        "big": style("big", fontSize=14, leading=17, spaceAfter=0),
        "callout": style(
            "callout",
            backColor=colors.HexColor("#fff4e5"),
            borderColor=colors.HexColor("#f0b429"),
            borderWidth=0.5,
            borderPadding=5,
            spaceBefore=2,
            spaceAfter=8,
        ),
        "bullet": style("bullet", fontSize=8.5, leading=11, leftIndent=10, bulletIndent=2),
        "ai": style("ai", leftIndent=0, spaceAfter=5, textColor=colors.HexColor("#334e68")),
        "student": style("student", leftIndent=12, spaceAfter=5),
        "flag": style(
            "flag",
            fontSize=8,
            leading=10.5,
            leftIndent=12,
            textColor=UNFINISHED,
            spaceAfter=5,
        ),
        "running": style("running", fontSize=7.5, leading=9, textColor=MUTED),
    }
