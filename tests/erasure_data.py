"""An interview with every kind of candidate data, for the erasure tests: typed
and spoken answers (a real WAV in storage), transcript events, a note, a
suggestion, the interviewer's state, an evaluation quoting the answers, a PDF
report, a decision naming the candidate, an admin history entry."""

from __future__ import annotations

import io
import wave
from pathlib import Path

from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile

from interviews import services
from interviews.models import InterviewSession, Student
from interviews.wire import EventType
from reports import services as report_services

# Sentences only the candidate's data holds: none may survive an erasure.
SPOKEN_ANSWER = "I tune streaming speech decoders for a living"
TYPED_ANSWER = "Typed: my favourite bug was a race in the audio queue"
NOTE = "Concrete answer about decoders"
SUGGESTION = "Ask how they measure decoder latency"
SUMMARY = "The candidate tunes speech decoders"


def wav_upload(name: str = "answer.wav", seconds: float = 0.3) -> ContentFile:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x01" * int(16000 * seconds))
    return ContentFile(buffer.getvalue(), name=name)


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def candidate(name: str = "Jane Smith", email: str = "jane.smith@example.com") -> Student:
    return services.create_student(name=name, email=email)


def interview_with_everything(
    *, interviewer, student: Student, staff=None, report: bool = True
) -> InterviewSession:
    first = student.name.split()[0]
    session = services.create_session(
        interviewer=interviewer,
        student=student,
        title=f"Backend interview with {student.name}",
        description=f"{student.name} ({student.email}) was referred by a friend. "
        f"Reach {first} on weekdays.",
    )
    question = services.create_question(
        session=session, question_text="Tell me about your work", order=1
    )
    services.transition_session(session=session, action="start")
    services.add_conversation(
        session=session, speaker="ai", message=f"Hello {first}! Tell me about your work."
    )
    services.record_event(
        session=session,
        type_=EventType.TRANSCRIPT_FINAL,
        payload={"text": SPOKEN_ANSWER, "start_s": 0.0, "end_s": 2.0, "words": []},
    )
    spoken = services.add_conversation(
        session=session,
        speaker="student",
        message=SPOKEN_ANSWER,
        question=question,
        audio_file=wav_upload(),
        speech={"start_s": 0.0, "end_s": 2.0, "words": [{"word": "tune", "start": 0.2}]},
    )
    services.add_conversation(session=session, speaker="student", message=TYPED_ANSWER)
    services.add_observer_event(
        session=session,
        type_=EventType.OBSERVER_NOTE,
        text=NOTE,
        author="staff",
        ref_seq=spoken.seq,
    )
    services.save_ai_state(
        session=session,
        state={
            "opened": True,
            "closed": True,
            "index": 0,
            "follow_ups": 1,
            "summary": SUMMARY,
            "notes": [[0, SPOKEN_ANSWER]],
            "turns": 2,
            "question_started_s": 1700000000.5,
        },
    )
    services.queue_suggestion(session_uuid=session.session_id, text=SUGGESTION, author="staff")
    services.save_evaluation(
        session=session,
        evaluation={
            "kind": "heuristic",
            "model": "heuristic-v1",
            "generated_at": "2026-01-01T10:00:00Z",
            "overall_score": 4,
            "recommendation": "yes",
            "summary": f"{first} knows decoders.",
            "strengths": [SPOKEN_ANSWER],
            "concerns": [],
            "questions": [
                {
                    "question_id": question.pk,
                    "question_text": question.question_text,
                    "score": 4,
                    "rationale": f"Said: {SPOKEN_ANSWER}",
                    "seqs": [spoken.seq],
                }
            ],
        },
    )
    services.transition_session(session=session, action="end")
    if report:
        report_services.generate_report(session=session)
    services.record_decision(
        session=session,
        outcome="advance",
        rationale=f"{student.name} is strong; write to {student.email} about next steps.",
        decided_by=staff,
    )
    if staff is not None:
        LogEntry.objects.create(
            user=staff,
            content_type=ContentType.objects.get_for_model(Student),
            object_id=str(student.pk),
            object_repr=str(student),
            action_flag=ADDITION,
        )
    session.refresh_from_db()
    return session
