"""The review page (/dashboard/<uuid>/review/) through Django's test client:
what staff see of an ended interview, the decision form, the report controls,
the audit trail, and who is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from dashboard.review import elapsed
from interviews import services
from interviews.models import AuditEntry, Decision, InterviewReport
from interviews.wire import EventType

pytestmark = [pytest.mark.django_db]

SPOKEN_ANSWER = "저는 소프트웨어 엔지니어입니다"
TYPED_ANSWER = "Persistence and clear writing."


class Page(HTMLParser):
    """The ids, links, audio sources and text of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (href, class)
        self.audio: list[str] = []
        self.text_parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a":
            self.links.append((attrs.get("href", ""), attrs.get("class") or ""))
        if tag == "audio":
            self.audio.append(attrs.get("src", ""))

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())


@pytest.fixture
def staff_browser(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def reviewed(session):
    """The conftest session, interviewed and ended: a spoken answer with its
    recording, a typed one, a note, a suggestion, metrics, an evaluation."""
    q1, q2 = session.questions.order_by("order")
    services.transition_session(session=session, action="start")
    ask1 = services.add_conversation(
        session=session, speaker="ai", message="Tell me about yourself", question=q1
    )
    final = services.record_event(
        session=session, type_=EventType.TRANSCRIPT_FINAL, payload={"text": SPOKEN_ANSWER}
    )
    spoken = services.add_conversation(
        session=session,
        speaker="student",
        message=SPOKEN_ANSWER,
        question=q1,
        audio_file=ContentFile(b"RIFF0000WAVE", name="answer.wav"),
        speech={"start_s": 0.2, "end_s": 2.2, "words": [], "ended_by": "silence"},
    )
    ask2 = services.add_conversation(
        session=session, speaker="ai", message="What are your strengths?", question=q2
    )
    services.record_event(
        session=session,
        type_=EventType.METRICS_TURN,
        payload={"stt_final_ms": 150, "llm_first_token_ms": 450, "llm_total_ms": 1200},
    )
    typed = services.add_conversation(
        session=session, speaker="student", message=TYPED_ANSWER, question=q2
    )
    services.add_observer_event(
        session=session,
        type_=EventType.OBSERVER_NOTE,
        text="Calm and specific.",
        author="Kim Observer",
        ref_seq=spoken.seq,
    )
    services.add_observer_event(
        session=session,
        type_=EventType.OBSERVER_SUGGEST,
        text="Ask for a concrete example.",
        author="Lee Lead",
    )
    services.transition_session(session=session, action="end")
    services.save_evaluation(
        session=session,
        evaluation={
            "kind": "heuristic",
            "model": "heuristic-v1",
            "generated_at": "2026-02-01T10:30:00Z",
            "overall_score": 3.5,
            "recommendation": "lean_no",
            "summary": "Answered both questions briefly.",
            "strengths": ["Clear introduction"],
            "concerns": ["No examples"],
            "questions": [
                # A transcript.final's seq stands for the answer it became.
                {
                    "question_id": q1.pk,
                    "question_text": q1.question_text,
                    "score": 4,
                    "rationale": "Relevant and concise.",
                    "seqs": [final.seq],
                },
                {
                    "question_id": q2.pk,
                    "question_text": q2.question_text,
                    "score": 2,
                    "rationale": "No examples given.",
                    "seqs": [typed.seq, ask2.seq],
                },
            ],
        },
    )
    session.refresh_from_db()
    session.turns = {"ask1": ask1, "spoken": spoken, "ask2": ask2, "typed": typed}
    return session


def url(session) -> str:
    return f"/dashboard/{session.session_id}/review/"


def test_staff_see_every_turn_with_its_id_time_and_the_spoken_answers_audio(
    staff_browser, reviewed
):
    r = staff_browser.get(url(reviewed))
    assert r.status_code == 200
    page = Page(r.content.decode())
    for number, turn in enumerate(reviewed.turns.values(), 1):
        assert f"turn-{turn.pk}" in page.ids
        assert turn.message in page.text
        assert f"Turn {number}" in page.text
    assert "Interviewer (AI)" in page.text and "Jane Smith" in page.text
    assert "Q1: Tell me about yourself" in page.text
    # Only the spoken answer has a recording, played through the audio view.
    assert page.audio == [f"/api/conversations/{reviewed.turns['spoken'].pk}/audio/"]
    html = r.content.decode()
    assert re.search(r'<audio controls preload="none" src="/api/conversations/\d+/audio/"', html)


def test_evaluation_evidence_links_to_the_turns_it_cites(staff_browser, reviewed):
    page = Page(staff_browser.get(url(reviewed)).content.decode())
    assert "Lean no" in page.text
    assert "Score 4 out of 5: Relevant and concise." in page.text
    assert "Score 2 out of 5: No examples given." in page.text
    assert "Heuristic evaluation" in page.text
    evidence = [href for href, cls in page.links if "evidence" in cls]
    turns = reviewed.turns
    # The transcript.final's seq maps to the spoken answer; q2 cites the
    # question and the typed answer, listed in transcript order.
    assert evidence == [
        f"#turn-{turns['spoken'].pk}",
        f"#turn-{turns['ask2'].pk}",
        f"#turn-{turns['typed'].pk}",
    ]
    assert all(href[1:] in page.ids for href in evidence)


def test_notes_and_suggestions_show_with_author_and_the_turn_they_are_about(
    staff_browser, reviewed
):
    page = Page(staff_browser.get(url(reviewed)).content.decode())
    assert "Note · Kim Observer" in page.text
    assert "Calm and specific." in page.text
    assert "Suggestion to the AI · Lee Lead" in page.text
    assert "Ask for a concrete example." in page.text
    assert (f"#turn-{reviewed.turns['spoken'].pk}", "") in page.links


def test_latency_figures_are_the_reports(staff_browser, reviewed):
    page = Page(staff_browser.get(url(reviewed)).content.decode())
    # stt_final_ms + llm_first_token_ms, as the PDF computes it.
    assert "median 600 ms" in page.text
    assert re.search(r"Turn 3 150 450 1200", page.text)  # the reply it measured


def test_recording_a_decision_saves_it_audits_it_and_shows_it_after_a_reload(
    staff_browser, staff_user, reviewed
):
    r = staff_browser.post(
        url(reviewed), {"action": "decide", "outcome": "advance", "rationale": "Strong answers."}
    )
    assert r.status_code == 302
    assert r["Location"] == f"{url(reviewed)}#decision"
    decision = Decision.objects.get(session=reviewed)
    assert (decision.outcome, decision.rationale, decision.decided_by) == (
        "advance",
        "Strong answers.",
        staff_user,
    )
    audit = AuditEntry.objects.get(session=reviewed, action=AuditEntry.Action.DECISION)
    assert audit.actor == staff_user
    page = Page(staff_browser.get(url(reviewed)).content.decode())
    assert "Decision recorded." in page.text
    assert "Advance by staff" in page.text
    assert "Strong answers." in page.text
    assert "No decision recorded yet." not in page.text

    staff_browser.post(url(reviewed), {"outcome": "reject", "rationale": "Second thoughts."})
    page = Page(staff_browser.get(url(reviewed)).content.decode())
    assert "Reject by staff" in page.text
    assert "Earlier decisions" in page.text
    assert page.text.index("Reject by staff") < page.text.index("Advance by staff")


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"rationale": "Fine."}, "Choose Advance, Hold or Reject."),
        ({"outcome": "promote", "rationale": "Fine."}, "Select a valid choice."),
        ({"outcome": "hold", "rationale": "   "}, "Write a rationale: why this decision."),
    ],
)
def test_bad_input_shows_an_error_and_saves_nothing(staff_browser, reviewed, form, message):
    r = staff_browser.post(url(reviewed), {"action": "decide", **form})
    assert r.status_code == 400
    assert message in Page(r.content.decode()).text
    assert 'aria-invalid="true"' in r.content.decode()
    assert not Decision.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DECISION).exists()


def test_a_running_interview_gets_a_note_and_a_link_to_the_live_page(staff_browser, session):
    services.transition_session(session=session, action="start")
    r = staff_browser.get(url(session))
    assert r.status_code == 200
    page = Page(r.content.decode())
    assert "This interview is still running." in page.text
    assert (f"/dashboard/{session.session_id}/", "") in page.links
    assert "Record decision" not in page.text
    r = staff_browser.post(url(session), {"outcome": "advance", "rationale": "Too early."})
    assert r.status_code == 400
    assert "Only an ended interview can be decided" in Page(r.content.decode()).text
    assert not Decision.objects.exists()


def test_generate_report_stores_it_audits_it_and_offers_the_download(
    staff_browser, staff_user, reviewed
):
    r = staff_browser.post(url(reviewed), {"action": "report"})
    assert r.status_code == 302 and r["Location"] == f"{url(reviewed)}#report"
    report = InterviewReport.objects.get(session=reviewed)
    assert report.pdf_file.storage.exists(report.pdf_file.name)
    audit = AuditEntry.objects.get(session=reviewed, action=AuditEntry.Action.REPORT)
    assert (audit.actor, audit.detail) == (staff_user, {"report_id": report.pk})
    page = Page(staff_browser.get(url(reviewed)).content.decode())
    assert "Report generated." in page.text
    assert (f"/api/reports/{report.pk}/download/", "button") in page.links


def test_each_view_is_audited_and_the_trail_is_shown(staff_browser, staff_user, reviewed):
    staff_browser.get(url(reviewed))
    r = staff_browser.get(url(reviewed))
    viewed = AuditEntry.objects.filter(session=reviewed, action=AuditEntry.Action.VIEWED)
    assert [(e.actor, e.actor_name) for e in viewed] == [(staff_user, "staff")] * 2
    page = Page(r.content.decode())
    assert page.text.count("staff Viewed") == 2


@pytest.mark.parametrize("who", ["anonymous", "plain"])
def test_anonymous_and_non_staff_are_refused(plain_user, reviewed, who):
    client = Client()
    if who == "plain":
        client.force_login(plain_user)
    for r in (
        client.get(url(reviewed)),
        client.post(url(reviewed), {"outcome": "advance", "rationale": "Sneaky."}),
        client.post(url(reviewed), {"action": "report"}),
    ):
        assert r.status_code == 302 and "login" in r["Location"]
    assert not Decision.objects.exists()
    assert not InterviewReport.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEWED).exists()


def test_an_unknown_interview_is_a_404(staff_browser, db):
    r = staff_browser.get("/dashboard/00000000-0000-4000-8000-000000000000/review/")
    assert r.status_code == 404


def test_turn_times_read_as_time_into_the_interview():
    start = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    assert elapsed(start, start + timedelta(seconds=65)) == "1:05 in"
    assert elapsed(start, start + timedelta(hours=1, seconds=5)) == "1:00:05 in"
    assert elapsed(start, start - timedelta(seconds=3)) == "0:00 in"
    assert elapsed(None, start) == ""
