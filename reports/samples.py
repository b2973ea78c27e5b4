"""Generated interviews for the benchmark, the tests and previewing the layout.

Deterministic (seeded): the same arguments give the same ReportData.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from interviews.wire import ClientType, EventType

from .data import (
    EvaluatedQuestion,
    Evaluation,
    ObserverNote,
    ReportData,
    ReportQuestion,
    ReportTurn,
    TurnMetrics,
)

KOREAN_ANSWERS = (
    "저는 소프트웨어 엔지니어입니다",
    "실시간 음성 인식 시스템을 파이썬과 Go로 개발한 경험이 있습니다",
    "팀원들과 코드 리뷰를 통해 품질을 높이는 것을 중요하게 생각합니다",
    "장애가 발생했을 때 원인을 끝까지 추적해서 재발을 막았습니다",
    "데이터베이스 쿼리를 최적화해서 응답 시간을 절반으로 줄였습니다",
)
ENGLISH_ANSWERS = (
    "I designed the ingestion pipeline and owned its on-call rotation for a year.",
    "We measured latency at the 99th percentile and cut it from 800 to 120 milliseconds.",
    "I prefer small pull requests, clear tests and writing down decisions as we make them.",
    "The hardest part was migrating the data without downtime while traffic kept growing.",
)
QUESTIONS = (
    ("Tell me about yourself", "Introduction", "easy"),
    ("What are your strengths?", "Behavioral", "medium"),
    ("자신의 가장 큰 성과에 대해 말씀해 주세요", "Behavioral", "medium"),
    ("Describe a system you designed end to end.", "System design", "hard"),
    ("How do you handle disagreement in code review?", "Collaboration", "medium"),
    ("장애 대응 경험을 설명해 주세요", "Operations", "hard"),
    ("How would you scale a WebSocket service to many servers?", "System design", "hard"),
    ("What do you want to learn next?", "Motivation", "easy"),
)


def interview(
    *,
    turns: int = 400,
    minutes: float = 60.0,
    seed: int = 7,
    evaluated: bool = True,
    heuristic: bool = False,
    candidate: str = "김민준 (Minjun Kim)",
) -> ReportData:
    """An interview of `turns` alternating AI/candidate rows spread over `minutes`."""
    rng = random.Random(seed)
    start = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    questions = tuple(
        ReportQuestion(id=100 + i, text=text, category=cat, difficulty=diff, order=i)
        for i, (text, cat, diff) in enumerate(QUESTIONS, 1)
    )
    step = minutes * 60.0 / max(1, turns)
    rows: list[ReportTurn] = []
    metrics: list[TurnMetrics] = []
    seq = 1
    for i in range(turns):
        question = questions[min(len(questions) - 1, i * len(questions) // max(1, turns))]
        moment = start + timedelta(seconds=i * step)
        if i % 2 == 0:
            text = (
                f"{question.text} " if i == 0 or rows[-1].question_id != question.id else ""
            ) + rng.choice(
                (
                    "Could you say more about that?",
                    "좋습니다. 조금 더 구체적으로 말씀해 주세요.",
                    "Thank you.",
                )
            )
            rows.append(
                ReportTurn(
                    seq=seq,
                    speaker="ai",
                    text=text.strip(),
                    timestamp=moment,
                    question_id=question.id,
                )
            )
        else:
            pool = KOREAN_ANSWERS if rng.random() < 0.6 else ENGLISH_ANSWERS
            text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 4)))
            words = text.split()
            spoken = rng.random() < 0.85
            speech = {}
            if spoken:
                duration = max(1.0, len(words) / rng.uniform(1.6, 2.6))
                speech = {
                    "start_s": 0.4,
                    "end_s": 0.4 + duration,
                    "words": [
                        {
                            "word": w,
                            "start": 0.4 + k * duration / len(words),
                            "end": 0.4 + (k + 1) * duration / len(words),
                            "conf": 0.93,
                        }
                        for k, w in enumerate(words)
                    ],
                    "ended_by": "silence",
                }
            rows.append(
                ReportTurn(
                    seq=seq,
                    speaker="student",
                    text=text,
                    timestamp=moment,
                    question_id=question.id,
                    speech=speech,
                )
            )
            seq += 1
            metrics.append(
                TurnMetrics(
                    seq=seq,
                    stt_final_ms=rng.uniform(80, 250),
                    llm_first_token_ms=rng.uniform(300, 900),
                    llm_total_ms=rng.uniform(900, 2500),
                    words=len(words),
                    speech_s=speech.get("end_s", 0) - speech.get("start_s", 0) if speech else None,
                )
            )
        seq += 1
    if rows and rows[-1].speaker == "ai" and turns > 2:
        # The candidate ended the interview mid-answer.
        last = rows[-2]
        rows[-2] = ReportTurn(
            seq=last.seq,
            speaker=last.speaker,
            text=last.text,
            timestamp=last.timestamp,
            question_id=last.question_id,
            speech={**last.speech, "ended_by": ClientType.INTERVIEW_END},
        )
    answers = [t for t in rows if t.speaker == "student"]
    notes = tuple(
        ObserverNote(
            seq=seq + k,
            kind=EventType.OBSERVER_SUGGEST if k % 3 == 2 else EventType.OBSERVER_NOTE,
            text=rng.choice(
                (
                    "Good structure, concrete numbers.",
                    "답변이 다소 길어짐",
                    "Ask about testing strategy",
                )
            ),
            author="John Doe",
            ref_seq=answers[k * len(answers) // 6].seq if answers and k % 3 != 2 else None,
            timestamp=start + timedelta(minutes=minutes * k / 6),
        )
        for k in range(6 if turns else 0)
    )
    evaluation = None
    if evaluated:
        evaluation = Evaluation(
            kind="heuristic" if heuristic else "llm",
            model="heuristic-v1" if heuristic else "gpt-4o-mini",
            generated_at=(start + timedelta(minutes=minutes)).isoformat(),
            overall_score=3.8,
            recommendation="yes",
            summary="Clear, structured answers with measurable outcomes; 시스템 설계 답변이 특히 좋았습니다.",
            strengths=("Concrete metrics in examples", "실시간 시스템 경험"),
            concerns=("Long answers on design questions", "Little on testing strategy"),
            questions=tuple(
                EvaluatedQuestion(
                    question_id=q.id,
                    question_text=q.text,
                    score=float(1 + (i * 3 + 2) % 5),
                    rationale=f"Answer addressed {q.category.lower()} with examples.",
                    seqs=tuple(t.seq for t in answers if t.question_id == q.id)[:3],
                )
                for i, q in enumerate(questions)
            ),
        )
    return ReportData(
        session_id="4f1c2a9e-8b7d-4c3a-9e1f-2b3c4d5e6f70",
        title="Software Engineer Interview",
        candidate=candidate,
        candidate_email="minjun@example.com",
        interviewer="John Doe",
        interviewer_email="john@example.com",
        status="Completed",
        language="ko",
        duration_minutes=int(minutes),
        scheduled_at=start,
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
        generated_at=start + timedelta(minutes=minutes, seconds=30),
        questions=questions,
        turns=tuple(rows),
        evaluation=evaluation,
        notes=notes,
        metrics=tuple(metrics),
    )
