"""Bad input is a 4xx JSON answer that says what is wrong, never a 500, and
leaves the database as it was."""

from __future__ import annotations

import uuid

import pytest

from interviews import services
from interviews.models import InterviewSession, Question

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]

UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def ids(interviewer, student, session, live_session):
    return {
        "interviewer": interviewer.pk,
        "student": student.pk,
        "session": session.pk,
        "session_uuid": str(session.session_id),
        "live_uuid": str(live_session.session_id),
        "live_question": live_session.questions.first().pk,
    }


def fill(value, ids):
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


SESSION = {"interviewer_id": "{interviewer}", "student_id": "{student}", "title": "T"}

# (method, path, body, status, a key the JSON body must have)
BAD_REQUESTS = [
    # people
    ("post", "/api/interviewers/", {}, 400, "email"),
    ("post", "/api/interviewers/", {"name": "A", "email": "not-an-email"}, 400, "email"),
    ("post", "/api/interviewers/", {"name": ["A"], "email": "a@example.com"}, 400, "name"),
    ("post", "/api/interviewers/", {"name": "A" * 201, "email": "a@example.com"}, 400, "name"),
    (
        "post",
        "/api/interviewers/",
        {"name": "A", "email": "a@example.com", "user": 99},
        400,
        "user",
    ),
    ("post", "/api/interviewers/", {"name": "A\x00", "email": "a@example.com"}, 400, "name"),
    ("post", "/api/students/", {"name": "", "email": "b@example.com"}, 400, "name"),
    ("post", "/api/students/", {"name": "B", "email": None}, 400, "email"),
    ("patch", "/api/students/{student}/", {"email": "nope@"}, 400, "email"),
    # sessions
    ("post", "/api/sessions/", {}, 400, "interviewer_id"),
    ("post", "/api/sessions/", {**SESSION, "interviewer_id": "abc"}, 400, "interviewer_id"),
    ("post", "/api/sessions/", {**SESSION, "student_id": 999999}, 400, "student_id"),
    ("post", "/api/sessions/", {**SESSION, "student_id": 10**30}, 400, "student_id"),
    ("post", "/api/sessions/", {**SESSION, "duration_minutes": 0}, 400, "duration_minutes"),
    ("post", "/api/sessions/", {**SESSION, "duration_minutes": 601}, 400, "duration_minutes"),
    ("post", "/api/sessions/", {**SESSION, "duration_minutes": "long"}, 400, "duration_minutes"),
    ("post", "/api/sessions/", {**SESSION, "scheduled_at": "tomorrow"}, 400, "scheduled_at"),
    ("post", "/api/sessions/", {**SESSION, "status": "completed"}, 400, "status"),
    ("post", "/api/sessions/", {**SESSION, "title": ""}, 400, "title"),
    ("put", "/api/sessions/{session}/", {"title": "Only a title"}, 400, "interviewer_id"),
    ("patch", "/api/sessions/{session}/", {"status": "completed"}, 400, "status"),
    ("patch", "/api/sessions/{session}/", {"duration_minutes": -5}, 400, "duration_minutes"),
    # questions
    ("post", "/api/questions/", {"session": "{session}"}, 400, "question_text"),
    ("post", "/api/questions/", {"question_text": "Q", "difficulty": "extreme"}, 400, "difficulty"),
    ("post", "/api/questions/", {"question_text": "Q", "session": "not-a-uuid"}, 400, "session"),
    ("post", "/api/questions/", {"question_text": "Q", "session": 999999}, 400, "session"),
    ("post", "/api/questions/", {"question_text": "Q", "session": UNKNOWN_UUID}, 400, "session"),
    ("post", "/api/questions/", {"question_text": "Q", "session": [1]}, 400, "session"),
    ("post", "/api/questions/", {"question_text": "Q", "order": "first"}, 400, "order"),
    ("post", "/api/questions/", {"question_text": "Q", "order": -1}, 400, "order"),
    ("post", "/api/questions/", {"question_text": "Q", "order": 10**12}, 400, "order"),
    ("get", "/api/questions/?session_id=not-a-uuid", None, 400, "detail"),
    ("get", "/api/questions/?session_id=12", None, 400, "detail"),
    # conversations
    (
        "post",
        "/api/conversations/",
        {"session": "{session}", "speaker": "robot", "message": "x"},
        400,
        "speaker",
    ),
    ("post", "/api/conversations/", {"session": "{session}", "speaker": "ai"}, 400, "message"),
    ("post", "/api/conversations/", {"speaker": "ai", "message": "x"}, 400, "session"),
    (
        "post",
        "/api/conversations/",
        {"session": "{session}", "speaker": "ai", "message": "x", "question": "{live_question}"},
        400,
        "question",
    ),
    ("get", "/api/conversations/?session_id=abc", None, 400, "detail"),
    ("post", "/api/conversations/voice_to_text/", {}, 400, "audio_file"),
    # ai-interview
    ("post", "/api/ai-interview/", {"session_id": "{session_uuid}"}, 400, "action"),
    (
        "post",
        "/api/ai-interview/",
        {"action": "dance", "session_id": "{session_uuid}"},
        400,
        "action",
    ),
    ("post", "/api/ai-interview/", {"action": "initialize"}, 400, "session_id"),
    (
        "post",
        "/api/ai-interview/",
        {"action": "initialize", "session_id": "abc"},
        400,
        "session_id",
    ),
    ("post", "/api/ai-interview/", {"action": "initialize", "session_id": 5}, 400, "session_id"),
    (
        "post",
        "/api/ai-interview/",
        {"action": "initialize", "session_id": UNKNOWN_UUID},
        404,
        "detail",
    ),
    (
        "post",
        "/api/ai-interview/",
        {"action": "respond", "session_id": "{live_uuid}"},
        400,
        "student_response",
    ),
    (
        "post",
        "/api/ai-interview/",
        {"action": "respond", "session_id": "{live_uuid}", "student_response": "   "},
        400,
        "student_response",
    ),
    (
        "post",
        "/api/ai-interview/",
        {"action": "respond", "session_id": "{live_uuid}", "student_response": "x" * 10_001},
        400,
        "student_response",
    ),
    (
        "post",
        "/api/ai-interview/",
        {"action": "respond", "session_id": "{session_uuid}", "student_response": "Hi"},
        409,
        "detail",
    ),
    (
        "post",
        "/api/ai-interview/",
        {"action": "end", "session_id": "{session_uuid}"},
        409,
        "detail",
    ),
    (
        "post",
        "/api/ai-interview/",
        {"action": "initialize", "session_id": "{live_uuid}"},
        409,
        "detail",
    ),
    # reports
    ("post", "/api/reports/generate/", {}, 400, "session_id"),
    ("post", "/api/reports/generate/", {"session_id": "abc"}, 400, "session_id"),
    ("post", "/api/reports/generate/", {"session_id": "{session}"}, 400, "session_id"),
    ("post", "/api/reports/generate/", {"session_id": UNKNOWN_UUID}, 404, "detail"),
    # unknown ids
    ("get", "/api/interviewers/999999/", None, 404, "detail"),
    ("get", "/api/interviewers/abc/", None, 404, "detail"),
    ("get", "/api/interviewers/99999999999999999999999999/", None, 404, "detail"),
    ("delete", "/api/students/999999/", None, 404, "detail"),
    ("get", "/api/sessions/999999/", None, 404, "detail"),
    ("get", f"/api/sessions/{UNKNOWN_UUID}/", None, 404, "detail"),
    ("get", "/api/sessions/not-a-uuid/", None, 404, "detail"),
    ("post", "/api/sessions/999999/start/", None, 404, "detail"),
    ("post", f"/api/sessions/{UNKNOWN_UUID}/end/", None, 404, "detail"),
    ("post", "/api/sessions/abc/cancel/", None, 404, "detail"),
    ("get", "/api/questions/999999/", None, 404, "detail"),
    ("get", "/api/conversations/999999/", None, 404, "detail"),
    ("get", "/api/reports/999999/", None, 404, "detail"),
    ("get", "/api/reports/999999/download/", None, 404, "detail"),
    ("get", "/api/sessions/?page=999", None, 404, "detail"),
    ("get", "/api/no-such-thing/", None, 404, "detail"),
    ("post", "/api/sessions", SESSION, 404, "detail"),
    # methods the contract does not offer
    ("delete", "/api/conversations/?session_id={session_uuid}", None, 405, "detail"),
    ("get", "/api/ai-interview/", None, 405, "detail"),
    ("get", "/api/reports/generate/", None, 405, "detail"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "key"),
    BAD_REQUESTS,
    ids=[f"{m.upper()} {p} {b!r:.60}" for m, p, b, _s, _k in BAD_REQUESTS],
)
def test_bad_request_is_a_json_4xx(staff_client, ids, method, path, body, status, key):
    before = (InterviewSession.objects.count(), Question.objects.count(), _statuses())
    kind = "multipart" if "voice_to_text" in path else "json"
    r = getattr(staff_client, method)(fill(path, ids), fill(body, ids), format=kind)
    assert r.status_code == status, r.content
    assert r["Content-Type"] == "application/json"
    assert key in r.json(), r.json()
    assert (InterviewSession.objects.count(), Question.objects.count(), _statuses()) == before


def _statuses():
    return list(InterviewSession.objects.values_list("status", "last_seq"))


def test_missing_trailing_slash_says_so(staff_client):
    r = staff_client.get("/api/sessions")
    assert r.status_code == 404
    assert "/api/sessions/" in r.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/interviewers/",
        "/api/sessions/",
        "/api/questions/",
        "/api/questions/bulk_create/",
        "/api/conversations/",
        "/api/ai-interview/",
        "/api/reports/generate/",
    ],
)
@pytest.mark.parametrize("payload", ['{"name": "A",', "[1, 2]", '"text"', "null"])
def test_malformed_or_non_object_json_body_is_400(staff_client, session, path, payload):
    r = staff_client.post(path, payload, content_type="application/json")
    assert r.status_code == 400, r.content
    assert r["Content-Type"] == "application/json"
    assert r.json()


def test_unknown_fields_are_ignored_not_fatal(staff_client):
    r = staff_client.post(
        "/api/students/", {"name": "A", "email": "a@example.com", "shoe_size": 44}, format="json"
    )
    assert r.status_code == 201 and "shoe_size" not in r.json()


# --- bulk_create: all or nothing ----------------------------------------------


def test_bulk_create_with_one_bad_item_saves_nothing_and_names_the_index(staff_client, session):
    before = Question.objects.count()
    r = staff_client.post(
        "/api/questions/bulk_create/",
        {
            "questions": [
                {"session": session.pk, "question_text": "Fine", "difficulty": "easy"},
                {"session": session.pk, "question_text": "Also fine"},
                {"session": session.pk, "question_text": "Bad", "difficulty": "extreme"},
            ]
        },
        format="json",
    )
    assert r.status_code == 400, r.content
    body = r.json()
    assert body["index"] == 2 and "questions[2]" in body["detail"]
    assert "difficulty" in body["errors"]
    assert Question.objects.count() == before


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({}, "questions"),
        ({"questions": []}, "questions"),
        ({"questions": "Tell me"}, "questions"),
        ({"questions": ["Tell me"]}, "questions"),
        ({"questions": [{"question_text": "Q"}] * 501}, "questions"),
        ({"questions": [{"question_text": ""}]}, "errors"),
        ({"questions": [{"question_text": "Q", "session": UNKNOWN_UUID}]}, "errors"),
    ],
    ids=["missing", "empty", "string", "list of strings", "too many", "blank text", "bad session"],
)
def test_bulk_create_envelope_errors(staff_client, session, payload, key):
    before = Question.objects.count()
    r = staff_client.post("/api/questions/bulk_create/", payload, format="json")
    assert r.status_code == 400, r.content
    assert key in r.json()
    assert Question.objects.count() == before


def test_bulk_create_accepts_session_uuid_and_appends_in_order(staff_client, session):
    r = staff_client.post(
        "/api/questions/bulk_create/",
        {
            "questions": [
                {"session": str(session.session_id), "question_text": "Third"},
                {"session": str(session.session_id), "question_text": "Fourth"},
            ]
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert [(q["question_text"], q["order"]) for q in r.json()] == [("Third", 3), ("Fourth", 4)]
    assert all(q["session_id"] == str(session.session_id) for q in r.json())


# --- status transitions -------------------------------------------------------


def test_start_twice_is_409_with_a_message(staff_client, session):
    assert staff_client.post(f"/api/sessions/{session.pk}/start/").status_code == 200
    r = staff_client.post(f"/api/sessions/{session.pk}/start/")
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"
    assert "in progress" in r.json()["detail"]


@pytest.mark.parametrize(
    ("before", "action", "status_after"),
    [
        ("scheduled", "end", "scheduled"),
        ("completed", "start", "completed"),
        ("completed", "end", "completed"),
        ("completed", "cancel", "completed"),
        ("cancelled", "start", "cancelled"),
        ("cancelled", "end", "cancelled"),
    ],
)
def test_wrong_transition_is_409_and_changes_nothing(
    staff_client, session, before, action, status_after
):
    if before != "scheduled":
        services.transition_session(session=session, action="start")
        services.transition_session(
            session=session, action="end" if before == "completed" else "cancel"
        )
    r = staff_client.post(f"/api/sessions/{session.session_id}/{action}/")
    assert r.status_code == 409, r.content
    assert f"Cannot {action}" in r.json()["detail"] and before in r.json()["detail"]
    session.refresh_from_db()
    assert session.status == status_after


def test_cancel_from_scheduled_and_from_in_progress(staff_client, session, live_session):
    for target in (session, live_session):
        r = staff_client.post(f"/api/sessions/{target.pk}/cancel/")
        assert r.status_code == 200, r.content
        assert r.json()["status"] == "cancelled" and r.json()["ended_at"]


def test_end_closes_an_open_ai_conversation_first(staff_client, live_session):
    r = staff_client.post(f"/api/sessions/{live_session.session_id}/end/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "completed"
    last = live_session.conversations.order_by("-id").first()
    assert last.speaker == "ai" and "Thank you" in last.message
    live_session.refresh_from_db()
    assert live_session.ai_state["closed"] is True


def test_ai_end_leaves_the_session_status_alone_and_a_second_end_is_harmless(
    staff_client, live_session
):
    sid = str(live_session.session_id)
    r = staff_client.post("/api/ai-interview/", {"action": "end", "session_id": sid}, format="json")
    assert r.status_code == 200 and r.json()["interview_closed"] is True
    live_session.refresh_from_db()
    assert live_session.status == "in_progress"
    r = staff_client.post("/api/ai-interview/", {"action": "end", "session_id": sid}, format="json")
    assert r.status_code == 200 and r.json()["message"] is None
    r = staff_client.post(
        "/api/ai-interview/",
        {"action": "respond", "session_id": sid, "student_response": "One more thing"},
        format="json",
    )
    assert r.status_code == 409 and "ended" in r.json()["detail"]


def test_initialize_starts_a_scheduled_session(staff_client, session):
    r = staff_client.post(
        "/api/ai-interview/",
        {"action": "initialize", "session_id": str(session.session_id)},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["question_id"] == session.questions.first().pk
    session.refresh_from_db()
    assert session.status == "in_progress" and session.started_at


def test_initialize_on_a_completed_session_is_409(staff_client, session):
    services.transition_session(session=session, action="start")
    services.transition_session(session=session, action="end")
    r = staff_client.post(
        "/api/ai-interview/",
        {"action": "initialize", "session_id": str(session.session_id)},
        format="json",
    )
    assert r.status_code == 409 and "completed" in r.json()["detail"]
    assert not session.conversations.exists()


# --- lookups by id and by UUID ------------------------------------------------


@pytest.mark.parametrize(
    "form", ["pk", "uuid", "UUID", "hex"], ids=["integer", "uuid", "upper-case uuid", "bare hex"]
)
def test_session_lookup_by_integer_id_or_uuid(staff_client, session, form):
    key = {
        "pk": str(session.pk),
        "uuid": str(session.session_id),
        "UUID": str(session.session_id).upper(),
        "hex": session.session_id.hex,
    }[form]
    r = staff_client.get(f"/api/sessions/{key}/")
    assert r.status_code == 200 and r.json()["id"] == session.pk
    r = staff_client.post(f"/api/sessions/{key}/start/")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    r = staff_client.post(f"/api/sessions/{key}/end/")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    r = staff_client.patch(f"/api/sessions/{key}/", {"title": "Renamed"}, format="json")
    assert r.status_code == 200 and r.json()["title"] == "Renamed"


def test_session_read_shape(staff_client, session):
    body = staff_client.get(f"/api/sessions/{session.pk}/").json()
    assert uuid.UUID(body["session_id"]) == session.session_id
    assert body["interviewer"]["email"] == "john@example.com"
    assert body["student"]["name"] == "Jane Smith"
    assert body["join_url"].endswith(f"/join/{session.session_id}/?token={session.join_token}")
    for key in ("status", "scheduled_at", "started_at", "ended_at", "created_at", "updated_at"):
        assert key in body
    assert "interviewer_id" not in body and "join_token" not in body


# --- edits that must not happen -----------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_status_cannot_be_edited(staff_client, session, method):
    body = {"status": "completed", "interviewer_id": session.interviewer_id}
    body |= {"student_id": session.student_id, "title": session.title}
    r = getattr(staff_client, method)(f"/api/sessions/{session.pk}/", body, format="json")
    assert r.status_code == 400 and "start/" in r.json()["status"][0]
    session.refresh_from_db()
    assert session.status == "scheduled" and session.ended_at is None


def test_a_read_body_round_trips_through_put(staff_client, session):
    """PUT back what GET returned (status included, unchanged): accepted."""
    body = staff_client.get(f"/api/sessions/{session.pk}/").json()
    body |= {
        "interviewer_id": session.interviewer_id,
        "student_id": session.student_id,
        "title": "Edited",
    }
    r = staff_client.put(f"/api/sessions/{session.pk}/", body, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["title"] == "Edited" and r.json()["status"] == "scheduled"
    assert r.json()["session_id"] == str(session.session_id)


def test_session_id_and_join_token_are_not_writable(staff_client, session):
    r = staff_client.patch(
        f"/api/sessions/{session.pk}/",
        {"session_id": UNKNOWN_UUID, "join_token": "mine"},
        format="json",
    )
    assert r.status_code == 200
    session_before = session.session_id, session.join_token
    session.refresh_from_db()
    assert (session.session_id, session.join_token) == session_before


@pytest.mark.parametrize("kind", ["interviewers", "students"])
def test_deleting_a_person_with_sessions_is_409_and_keeps_them(staff_client, session, kind):
    person = session.interviewer if kind == "interviewers" else session.student
    r = staff_client.delete(f"/api/{kind}/{person.pk}/")
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "in_use" and "1 interview session" in r.json()["detail"]
    assert type(person).objects.filter(pk=person.pk).exists()
    assert staff_client.delete(f"/api/sessions/{session.pk}/").status_code == 204
    assert staff_client.delete(f"/api/{kind}/{person.pk}/").status_code == 204


def test_deleting_a_live_session_is_409(staff_client, live_session):
    r = staff_client.delete(f"/api/sessions/{live_session.pk}/")
    assert r.status_code == 409 and "end or cancel" in r.json()["detail"]
    assert InterviewSession.objects.filter(pk=live_session.pk).exists()


def test_deleting_a_session_removes_its_questions(staff_client, session):
    r = staff_client.delete(f"/api/sessions/{session.session_id}/")
    assert r.status_code == 204
    assert not Question.objects.filter(session_id=session.pk).exists()


# --- defaults ------------------------------------------------------------------


def test_question_order_defaults_to_after_the_last(staff_client, session):
    def add(**extra):
        r = staff_client.post("/api/questions/", {"question_text": "Q", **extra}, format="json")
        assert r.status_code == 201, r.content
        return r.json()["order"]

    assert add(session=session.pk) == 3  # the fixture has orders 1 and 2
    assert add(session=session.pk, order=10) == 10
    assert add(session=str(session.session_id)) == 11
    assert add() == 1  # the bank numbers its own questions
    assert add(session=None) == 2


def test_question_defaults(staff_client, session):
    r = staff_client.post(
        "/api/questions/", {"session": session.pk, "question_text": "Why?"}, format="json"
    )
    assert r.json()["difficulty"] == "medium"
    assert r.json()["category"] == "" and r.json()["expected_answer"] == ""


def test_questions_filter_by_session_uuid(staff_client, session, live_session):
    r = staff_client.get(f"/api/questions/?session_id={live_session.session_id}")
    texts = [q["question_text"] for q in r.json()["results"]]
    assert texts == ["Why this role?", "Your hardest bug?"]
    assert r.json()["count"] == 2


def test_conversations_filter_by_session_uuid(staff_client, session, live_session):
    services.add_conversation(session=session, speaker="student", message="Other session")
    r = staff_client.get(f"/api/conversations/?session_id={live_session.session_id}")
    rows = r.json()["results"]
    assert len(rows) == 1 and rows[0]["speaker"] == "ai"
    assert rows[0]["session_id"] == str(live_session.session_id) and rows[0]["seq"]


def test_session_defaults(staff_client, interviewer, student):
    r = staff_client.post(
        "/api/sessions/",
        {"interviewer_id": interviewer.pk, "student_id": student.pk, "title": "Defaults"},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["duration_minutes"] == 30 and body["status"] == "scheduled"
    assert body["description"] == "" and body["scheduled_at"] is None


def test_report_download_with_the_file_gone_is_404(staff_client, live_session):
    r = staff_client.post(
        "/api/reports/generate/", {"session_id": str(live_session.session_id)}, format="json"
    )
    assert r.status_code == 201, r.content
    report_id = r.json()["id"]
    from interviews.models import InterviewReport

    report = InterviewReport.objects.get(pk=report_id)
    report.pdf_file.storage.delete(report.pdf_file.name)
    r = staff_client.get(f"/api/reports/{report_id}/download/")
    assert r.status_code == 404 and "generate" in r.json()["detail"]


def test_voice_to_text_with_unknown_session_is_404(staff_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.wav", b"RIFF0000WAVEfmt ", content_type="audio/wav")
    r = staff_client.post(
        "/api/conversations/voice_to_text/",
        {"audio_file": upload, "session_id": UNKNOWN_UUID},
        format="multipart",
    )
    assert r.status_code == 404 and r["Content-Type"] == "application/json"


def test_voice_to_text_with_non_uuid_session_is_400(staff_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.wav", b"RIFF0000WAVEfmt ", content_type="audio/wav")
    r = staff_client.post(
        "/api/conversations/voice_to_text/",
        {"audio_file": upload, "session_id": "abc"},
        format="multipart",
    )
    assert r.status_code == 400 and "session_id" in r.json()
