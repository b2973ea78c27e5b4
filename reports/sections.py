"""The report's content: the title block, contents, summary, the decision
(reports/decision.py), questions and scores, charts, speaking metrics,
observer notes and the transcript, as ReportLab flowables for layout.render().

Like the rest of the build, pure: no ORM, no Django settings, no clock.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from . import charts
from . import metrics as m
from .data import EvaluatedQuestion, ObserverNote, ReportData, ReportQuestion, ReportTurn
from .decision import decision_section
from .fonts import FontChain
from .layout import CONTENT_WIDTH, RULE, SHADE

RECOMMENDATIONS = {
    "strong_yes": ("Strong yes", "#1e7b34"),
    "yes": ("Yes", "#3f9142"),
    "lean_no": ("Lean no", "#c07a12"),
    "no": ("No", "#b3261e"),
}
SECTIONS = (
    ("summary", "Summary"),
    ("decision", "Decision"),
    ("questions", "Questions and scores"),
    ("charts", "Charts"),
    ("speaking", "Speaking metrics"),
    ("notes", "Observer notes and flags"),
    ("transcript", "Transcript"),
)


class Sections:
    """The report's sections for one ReportData; story() is all of them, in order."""

    def __init__(
        self, data: ReportData, chain: FontChain, styles: dict[str, ParagraphStyle]
    ) -> None:
        self.data = data
        self.chain = chain
        self.styles = styles
        self.metrics = m.compute(data)
        self.unfinished = m.unfinished_turns(data.turns)
        self.anchored = sorted(t.seq for t in data.turns if t.seq is not None)
        self.questions_by_id = {q.id: q for q in data.questions}
        self.origin = data.started_at or (data.turns[0].timestamp if data.turns else None)

    # --- text helpers ---------------------------------------------------------
    def t(self, text: object) -> str:
        return self.chain.markup(text)

    def p(self, markup: str, style: str = "body") -> Paragraph:
        return Paragraph(markup, self.styles[style])

    def turn_anchor(self, seq: int) -> int | None:
        """The conversation seq a cited seq belongs to: itself, or the next turn
        (a transcript.final event is recorded just before its turn.committed)."""
        i = bisect.bisect_left(self.anchored, seq)
        return self.anchored[i] if i < len(self.anchored) else None

    def seq_link(self, seq: int) -> str:
        target = self.turn_anchor(seq)
        if target is None:
            return f"#{seq}"
        return f'<a href="#turn-{target}" color="#1f5fa8"><u>#{seq}</u></a>'

    def when(
        self, moment: datetime | None, *, with_date: bool = True, seconds: bool = False
    ) -> str:
        if moment is None:
            return "—"
        zone = moment.strftime("%Z") if moment.tzinfo else ""
        clock = "%H:%M:%S" if seconds else "%H:%M"
        text = moment.strftime(f"%Y-%m-%d {clock}" if with_date else clock)
        return f"{text} {zone}".strip()

    def iso_text(self, value: str) -> str:
        """An ISO 8601 string shown like the report's other times, in their zone."""
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        zone = self.data.generated_at.tzinfo
        if moment.tzinfo and zone:
            moment = moment.astimezone(zone)
        return self.when(moment)

    def elapsed(self, moment: datetime) -> str:
        if self.origin is None:
            return ""
        seconds = max(0, int((moment - self.origin).total_seconds()))
        hours, rest = divmod(seconds, 3600)
        return (
            f"+{hours}:{rest // 60:02d}:{rest % 60:02d}"
            if hours
            else f"+{rest // 60:02d}:{rest % 60:02d}"
        )

    def story(self) -> list[Flowable]:
        story: list[Flowable] = []
        story += self.title_block()
        story += self.contents()
        story += self.summary()
        story += decision_section(self)
        story += self.question_table()
        story += self.chart_section()
        story += self.speaking_section()
        story += self.notes_section()
        story += self.transcript()
        return story

    def heading(self, key: str, title: str, *, level: int = 0, style: str = "h1") -> Paragraph:
        para = self.p(f'<a name="{key}"/>{self.t(title)}', style)
        para.outline = (title, key, level)  # read by layout.ReportDoc.afterFlowable
        para.keepWithNext = True
        return para

    # --- sections -------------------------------------------------------------
    def title_block(self) -> list[Flowable]:
        d = self.data
        actual = "—"
        if d.started_at:
            end = (
                self.when(d.ended_at, with_date=d.ended_at.date() != d.started_at.date())
                if d.ended_at
                else "…"
            )
            actual = f"{self.when(d.started_at)} – {end}"
        rows = [
            ("Candidate", _join(self.t(d.candidate), self.t(d.candidate_email))),
            ("Interviewer", _join(self.t(d.interviewer), self.t(d.interviewer_email))),
            ("Scheduled", self.t(self.when(d.scheduled_at))),
            ("Actual", self.t(actual)),
            ("Duration", self.t(self.duration_text())),
            ("Status", self.t(d.status)),
            ("Language", self.t(d.language or "—")),
            (
                "Content",
                self.t(
                    f"{len(d.questions)} planned questions, {len(d.turns)} turns, "
                    f"{len(d.notes)} observer notes"
                ),
            ),
        ]
        half = (len(rows) + 1) // 2
        cells = []
        for left, right in zip(
            rows[:half], rows[half:] + [("", "")] * (2 * half - len(rows)), strict=True
        ):
            cells.append(
                [
                    self.p(left[0], "label"),
                    self.p(left[1], "cell"),
                    self.p(right[0], "label"),
                    self.p(right[1], "cell"),
                ]
            )
        table = Table(cells, colWidths=[0.14 * CONTENT_WIDTH, 0.36 * CONTENT_WIDTH] * 2)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                    ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        intro = [
            self.p("Interview report", "kicker"),
            self.p(self.t(d.title), "title"),
        ]
        if d.description:
            intro.append(self.p(self.t(d.description), "muted"))
        return [*intro, Spacer(1, 4), table, Spacer(1, 8)]

    def duration_text(self) -> str:
        d = self.data
        planned = f"{d.duration_minutes} min planned" if d.duration_minutes else ""
        seconds = None
        if d.started_at and d.ended_at:
            seconds = (d.ended_at - d.started_at).total_seconds()
        elif len(d.turns) > 1:
            seconds = (d.turns[-1].timestamp - d.turns[0].timestamp).total_seconds()
        if seconds is None:
            return planned or "—"
        actual = f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
        return f"{actual} ({planned})" if planned else actual

    def contents(self) -> list[Flowable]:
        links = " · ".join(
            f'<a href="#{key}" color="#1f5fa8">{title}</a>' for key, title in SECTIONS
        )
        return [self.p(f"<b>Contents</b>  {links}", "small"), Spacer(1, 6)]

    def summary(self) -> list[Flowable]:
        ev = self.data.evaluation
        out: list[Flowable] = [self.heading("summary", "Summary")]
        if ev is None:
            out.append(
                self.p(
                    "<b>Not evaluated.</b> No evaluation was stored for this session "
                    "(the interview may not have been closed). Scores below are empty; "
                    "the transcript and metrics are complete.",
                    "callout",
                )
            )
            return out
        label, colour = RECOMMENDATIONS.get(
            ev.recommendation, (ev.recommendation.replace("_", " ").capitalize() or "—", "#616e7c")
        )
        score = f"{ev.overall_score:.1f} / 5" if ev.overall_score is not None else "—"
        model = f" ({self.t(ev.model)})" if ev.model else ""
        generated = f", {self.t(self.iso_text(ev.generated_at))}" if ev.generated_at else ""
        if ev.heuristic:
            source = (
                f"<b>Heuristic evaluation</b>{model}{generated}: computed by rules, not by "
                "a language model; treat it as indicative only."
            )
        else:
            source = f"Evaluated by a language model{model}{generated}."
        headline = Table(
            [
                [
                    self.p(f'<font color="{colour}"><b>{label}</b></font>', "big"),
                    self.p(f"<b>{score}</b>", "big"),
                    self.p(source, "small"),
                ],
                [
                    self.p("Recommendation", "label"),
                    self.p(
                        "Overall score (heuristic)" if ev.heuristic else "Overall score", "label"
                    ),
                    "",
                ],
            ],
            colWidths=[0.2 * CONTENT_WIDTH, 0.24 * CONTENT_WIDTH, 0.56 * CONTENT_WIDTH],
        )
        headline.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("SPAN", (2, 0), (2, 1)),
                    ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                    ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                    (
                        "BACKGROUND",
                        (2, 0),
                        (2, 1),
                        colors.HexColor("#fff4e5") if ev.heuristic else SHADE,
                    ),
                ]
            )
        )
        out += [headline, Spacer(1, 6)]
        if ev.summary:
            out.append(self.p(self.t(ev.summary)))
        items = (*ev.strengths, *ev.concerns)
        if len(items) <= 12 and sum(len(i) for i in items) <= 1500:
            # Side by side; a table row cannot split, so only when it surely fits a page.
            table = Table(
                [
                    [self.p("<b>Strengths</b>", "cell"), self.p("<b>Concerns</b>", "cell")],
                    [self._bullets(ev.strengths), self._bullets(ev.concerns)],
                ],
                colWidths=[CONTENT_WIDTH / 2] * 2,
            )
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            out += [Spacer(1, 4), table]
        else:
            out += [self.p("<b>Strengths</b>", "cell"), *self._bullets(ev.strengths)]
            out += [self.p("<b>Concerns</b>", "cell"), *self._bullets(ev.concerns)]
        return out

    def _bullets(self, items: Sequence[str]) -> list[Flowable]:
        if not items:
            return [self.p("None noted.", "muted")]
        return [self.p(f"<bullet>•</bullet>{self.t(item)}", "bullet") for item in items]

    def question_rows(self) -> list[tuple[str, ReportQuestion | None, EvaluatedQuestion | None]]:
        """Planned questions in order, each with its evaluation; evaluated items
        that match no planned question (follow-ups) come after."""
        ev = self.data.evaluation
        by_id: dict[int, EvaluatedQuestion] = {}
        extra: list[EvaluatedQuestion] = []
        for item in ev.questions if ev else ():
            if item.question_id in self.questions_by_id and item.question_id not in by_id:
                by_id[item.question_id] = item
            else:
                extra.append(item)
        rows: list[tuple[str, ReportQuestion | None, EvaluatedQuestion | None]] = [
            (f"Q{i}", q, by_id.get(q.id)) for i, q in enumerate(self.data.questions, 1)
        ]
        rows += [(f"E{i}", None, item) for i, item in enumerate(extra, 1)]
        return rows

    def answer_seqs(self) -> dict[int, list[int]]:
        seqs: dict[int, list[int]] = defaultdict(list)
        for turn in self.data.turns:
            if turn.speaker == "student" and turn.question_id is not None and turn.seq is not None:
                seqs[turn.question_id].append(turn.seq)
        return seqs

    def question_table(self) -> list[Flowable]:
        out: list[Flowable] = [self.heading("questions", "Questions and scores")]
        rows = self.question_rows()
        if not rows:
            out.append(self.p("No questions were planned or evaluated.", "muted"))
            return out
        answers = self.answer_seqs()
        header = ["#", "Question", "Score", "Rationale", "Turns"]
        cells: list[list[object]] = [[self.p(f"<b>{h}</b>", "cell") for h in header]]
        for label, planned, item in rows:
            text = planned.text if planned else item.question_text if item else ""
            meta = []
            if planned and planned.category:
                meta.append(planned.category)
            if planned and planned.difficulty:
                meta.append(planned.difficulty)
            if planned is None:
                meta.append("follow-up / not in plan")
            question = self.t(text)
            if meta:
                question += f'<br/><font color="#616e7c" size="7">{self.t(" · ".join(meta))}</font>'
            score = f"{item.score:.0f}" if item and item.score is not None else "—"
            rationale = self.t(item.rationale) if item and item.rationale else "—"
            seqs = (
                list(item.seqs)
                if item and item.seqs
                else answers.get(planned.id, [])
                if planned
                else []
            )
            links = ", ".join(self.seq_link(s) for s in seqs[:12]) or "—"
            if len(seqs) > 12:
                links += f" +{len(seqs) - 12}"
            cells.append(
                [
                    self.p(label, "cell"),
                    self.p(question, "cell"),
                    self.p(f"<b>{score}</b>", "cellcenter"),
                    self.p(rationale, "cell"),
                    self.p(links, "cell"),
                ]
            )
        widths = [0.06, 0.38, 0.08, 0.34, 0.14]
        table = Table(
            cells,
            colWidths=[w * CONTENT_WIDTH for w in widths],
            repeatRows=1,
            splitInRow=1,
        )
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                    ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ]
            )
        )
        out.append(table)
        if not self.data.evaluation:
            out.append(self.p("Scores are empty: the session was not evaluated.", "muted"))
        return out

    def chart_section(self) -> list[Flowable]:
        out: list[Flowable] = [CondPageBreak(80 * mm), self.heading("charts", "Charts")]
        rows = self.question_rows()
        scores = [item.score if item else None for _, _, item in rows]
        if any(s is not None for s in scores):
            out.append(
                charts.score_chart(
                    [label for label, _, _ in rows],
                    scores,
                    width=CONTENT_WIDTH,
                    font=self.chain.regular,
                )
            )
        else:
            out.append(self.p("No scores to chart (not evaluated).", "muted"))
        sm = self.metrics
        if not self.data.turns:
            out.append(self.p("No talk time to chart (no conversation).", "muted"))
            return out
        note = ""
        if sm.candidate_talk_estimated_s:
            note = (
                f"Candidate: {sm.candidate_talk_estimated_s / 60:.1f} min of it estimated from "
                f"typed words at {m.ESTIMATED_WPM:.0f} wpm. "
            )
        note += f"AI: estimated from its words at {m.ESTIMATED_WPM:.0f} wpm."
        out += [
            Spacer(1, 8),
            charts.talk_time_chart(
                sm.candidate_talk_s / 60,
                sm.ai_talk_s / 60,
                width=CONTENT_WIDTH,
                font=self.chain.regular,
                note=note,
            ),
        ]
        return out

    def speaking_section(self) -> list[Flowable]:
        sm = self.metrics

        def num(value: float | None, fmt: str, unit: str = "") -> str:
            return "—" if value is None else f"{value:{fmt}}{unit}"

        latency_source = {
            "pipeline": "speech-to-text finalisation + time to the AI's first token "
            f"({sm.latency_samples} turns)",
            "timestamps": "time from the answer's record to the AI reply's record; includes "
            f"the whole reply ({sm.latency_samples} turns)",
        }.get(sm.latency_source, "no data")
        rows = [
            ("Answers", f"{sm.answers} ({sm.spoken_answers} spoken, {sm.typed_answers} typed)"),
            ("Speaking rate", num(sm.words_per_minute, ".0f", " words/min") + "  (spoken answers)"),
            (
                "Answer length",
                f"mean {num(sm.answer_words_mean, '.0f')}, median "
                f"{num(sm.answer_words_median, '.0f')}, longest {num(sm.answer_words_max, 'd')} words",
            ),
            ("Mean spoken answer", num(sm.answer_seconds_mean, ".1f", " s")),
            (
                "Response latency",
                f"median {num(sm.latency_ms_median, '.0f', ' ms')}, "
                f"90th percentile {num(sm.latency_ms_p90, '.0f', ' ms')}",
            ),
            ("Latency measured as", latency_source),
            (
                "Talk time",
                f"candidate {sm.candidate_talk_s / 60:.1f} min, AI {sm.ai_talk_s / 60:.1f} min (estimated)",
            ),
        ]
        table = Table(
            [[self.p(k, "label"), self.p(self.t(v), "cell")] for k, v in rows],
            colWidths=[0.25 * CONTENT_WIDTH, 0.75 * CONTENT_WIDTH],
        )
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ]
            )
        )
        return [self.heading("speaking", "Speaking metrics"), table]

    def notes_section(self) -> list[Flowable]:
        out: list[Flowable] = [self.heading("notes", "Observer notes and flags")]
        if not self.data.notes:
            out.append(self.p("No observer notes.", "muted"))
            return out
        cells: list[list[object]] = [
            [self.p(f"<b>{h}</b>", "cell") for h in ("Time", "Kind", "Author", "Note")]
        ]
        for note in self.data.notes:
            kind = "Suggested follow-up" if note.is_suggestion else "Note"
            if not note.is_suggestion and note.ref_seq is not None:
                kind = f"Flag on turn {self.seq_link(note.ref_seq)}"
            when = self.elapsed(note.timestamp) if note.timestamp else ""
            cells.append(
                [
                    self.p(when or "—", "cell"),
                    self.p(kind, "cell"),
                    self.p(self.t(note.author or "—"), "cell"),
                    self.p(self.t(note.text), "cell"),
                ]
            )
        table = Table(
            cells,
            colWidths=[w * CONTENT_WIDTH for w in (0.1, 0.2, 0.15, 0.55)],
            repeatRows=1,
            splitInRow=1,
        )
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ]
            )
        )
        out.append(table)
        return out

    def transcript(self) -> list[Flowable]:
        out: list[Flowable] = [CondPageBreak(40 * mm), self.heading("transcript", "Transcript")]
        turns = self.data.turns
        if not turns:
            out.append(self.p("No conversation was recorded.", "muted"))
            return out
        flags: dict[int, list[ObserverNote]] = defaultdict(list)
        for note in self.data.notes:
            if not note.is_suggestion and note.ref_seq is not None:
                target = self.turn_anchor(note.ref_seq)
                if target is not None:
                    flags[target].append(note)
        labels = {q.id: f"Q{i}" for i, q in enumerate(self.data.questions, 1)}
        current_question: object = object()
        candidate = self.t(self.data.candidate)
        for index, turn in enumerate(turns):
            if turn.question_id != current_question and turn.question_id in self.questions_by_id:
                current_question = turn.question_id
                question = self.questions_by_id[turn.question_id]
                label = labels[turn.question_id]
                out.append(
                    self.heading(
                        f"tq-{index}",
                        f"{label}. {_clip(question.text, 90)}",
                        level=1,
                        style="h2",
                    )
                )
            out.append(self.turn_paragraph(turn, index, candidate))
            for note in flags.get(turn.seq, ()) if turn.seq is not None else ():
                author = f" ({self.t(note.author)})" if note.author else ""
                out.append(self.p(f"<b>Flag</b>{author}: {self.t(note.text)}", "flag"))
        return out

    def turn_paragraph(self, turn: ReportTurn, index: int, candidate: str) -> Paragraph:
        anchor = f'<a name="{turn.anchor}"/>' if turn.anchor else ""
        clock = self.when(turn.timestamp, with_date=False, seconds=True)
        elapsed = self.elapsed(turn.timestamp)
        speaker = "AI" if turn.speaker == "ai" else candidate
        facts = []
        if turn.speaker == "student":
            seconds = m.speech_seconds(turn)
            facts.append(f"{seconds:.0f} s" if seconds is not None else "typed")
        if turn.seq is not None:
            facts.append(f"#{turn.seq}")
        meta = f'<font color="#616e7c" size="7">{clock} {elapsed}  {" · ".join(facts)}</font>'
        unfinished = ""
        if index in self.unfinished:
            unfinished = ' <font color="#b44d12"><b>(unfinished)</b></font>'
        style = "ai" if turn.speaker == "ai" else "student"
        text = self.t(turn.text) if turn.text.strip() else '<font color="#616e7c">(empty)</font>'
        return self.p(f"{anchor}{meta}<br/><b>{speaker}</b>: {text}{unfinished}", style)


def _join(first: str, second: str) -> str:
    return f'{first}<br/><font color="#616e7c" size="7">{second}</font>' if second else first


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
