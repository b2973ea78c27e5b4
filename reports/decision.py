"""The report's "Decision" section: the current hiring decision (outcome,
rationale, who and when) and the earlier ones, or a line saying there is none.

Its own module because reports/sections.py is near the file size limit; like
the rest of the build, pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from .layout import CONTENT_WIDTH, RULE, SHADE

if TYPE_CHECKING:
    from .sections import Sections

OUTCOME_COLOURS = {"Advance": "#1e7b34", "Hold": "#c07a12", "Reject": "#b3261e"}


def decision_section(sections: Sections) -> list[Flowable]:
    out: list[Flowable] = [sections.heading("decision", "Decision")]
    decisions = sections.data.decisions
    if not decisions:
        out.append(sections.p("No decision recorded yet.", "muted"))
        return out
    current, earlier = decisions[0], decisions[1:]
    colour = OUTCOME_COLOURS.get(current.outcome, "#616e7c")
    who = sections.t(current.decided_by or "unknown")
    box = Table(
        [
            [
                sections.p(
                    f'<font color="{colour}"><b>{sections.t(current.outcome)}</b></font>', "big"
                ),
                sections.p(
                    f"Decided by {who}, {sections.t(sections.when(current.decided_at))}", "small"
                ),
            ],
            [sections.p("Outcome", "label"), ""],
        ],
        colWidths=[0.3 * CONTENT_WIDTH, 0.7 * CONTENT_WIDTH],
    )
    box.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("BACKGROUND", (0, 0), (-1, -1), SHADE),
            ]
        )
    )
    # The rationale outside the table: a table row cannot split across pages.
    out += [box, Spacer(1, 4), sections.p(sections.t(current.rationale))]
    if earlier:
        out.append(sections.p("<b>Earlier decisions</b>", "cell"))
        for item in earlier:
            out.append(
                sections.p(
                    f"<bullet>•</bullet><b>{sections.t(item.outcome)}</b> by "
                    f"{sections.t(item.decided_by or 'unknown')}, "
                    f"{sections.t(sections.when(item.decided_at))}: {sections.t(item.rationale)}",
                    "bullet",
                )
            )
    return out
