"""The report's two charts, drawn with ReportLab's own graphics (vector, no images)."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

SCORE_COLOR = colors.HexColor("#2f6fb0")
CANDIDATE_COLOR = colors.HexColor("#2f6fb0")
AI_COLOR = colors.HexColor("#9aa5b1")
AXIS_GREY = colors.HexColor("#d0d5db")


def score_chart(
    labels: Sequence[str], scores: Sequence[float | None], *, width: float, font: str
) -> Drawing:
    """Bars of each question's score on a 0-5 axis; unscored questions show as gaps."""
    height = 150
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 32, 28
    chart.width, chart.height = width - 44, height - 48
    chart.data = [list(scores)]  # None: no bar and no label
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 5, 1
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = AXIS_GREY
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7 if len(labels) <= 20 else 5
    if len(labels) > 20:
        chart.categoryAxis.labels.angle = 90
        chart.categoryAxis.labels.boxAnchor = "e"
    chart.bars[0].fillColor = SCORE_COLOR
    chart.bars[0].strokeColor = None
    chart.barSpacing = 1
    chart.groupSpacing = max(2, int(chart.width / max(1, len(labels)) * 0.3))
    chart.barLabelFormat = "%.0f"
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    drawing.add(chart)
    drawing.add(String(0, height - 10, "Score per question (1-5)", fontName=font, fontSize=9))
    return drawing


def talk_time_chart(
    candidate_min: float, ai_min: float, *, width: float, font: str, note: str = ""
) -> Drawing:
    """Two horizontal bars in minutes, candidate vs AI, with their share."""
    height = 92 if note else 80
    drawing = Drawing(width, height)
    total = candidate_min + ai_min
    chart = HorizontalBarChart()
    chart.x, chart.y = 70, 24 if note else 12
    chart.width, chart.height = width - 150, 44
    chart.data = [[ai_min, candidate_min]]
    chart.categoryAxis.categoryNames = ["AI (est.)", "Candidate"]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(1.0, total) * 1.05
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = AXIS_GREY
    chart.bars[0].fillColor = AI_COLOR
    chart.bars[0].strokeColor = None
    chart.bars[(0, 1)].fillColor = CANDIDATE_COLOR
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 8
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 4
    chart.barLabelFormat = lambda v: f"{v:.1f} min ({v / total:.0%})" if total else "0 min"
    drawing.add(chart)
    drawing.add(String(0, height - 10, "Talk time (minutes)", fontName=font, fontSize=9))
    if note:
        drawing.add(String(0, 2, note, fontName=font, fontSize=7, fillColor=colors.grey))
    return drawing
