"""Who may call what: every contract endpoint, by every kind of caller.

Anonymous -> 401 JSON, authenticated non-staff -> 403 JSON (and nothing in
the database changes), staff -> the endpoint works, by API token or by a
Django session login alike.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from interviews import services
from interviews.models import (
    Conversation,
    Interviewer,
    InterviewReport,
    InterviewSession,
    Question,
    SessionEvent,
    Student,
)
from reports import services as report_services

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]

# (method, path, body, status for staff). Paths name objects of the `ids` fixture.
ENDPOINTS = [
    ("get", "/api/", None, 200),
    ("get", "/api/interviewers/", None, 200),
    ("post", "/api/interviewers/", {"name": "Ann Lee", "email": "ann@example.com"}, 201),
    ("get", "/api/interviewers/{interviewer}/", None, 200),
    ("put", "/api/interviewers/{interviewer}/", {"name": "J. Doe", "email": "jd@example.com"}, 200),
    ("patch", "/api/interviewers/{interviewer}/", {"name": "Johnny"}, 200),
    ("delete", "/api/interviewers/{spare_interviewer}/", None, 204),
    ("get", "/api/students/", None, 200),
    ("post", "/api/students/", {"name": "Bo Kim", "email": "bo@example.com"}, 201),
    ("get", "/api/students/{student}/", None, 200),
    ("put", "/api/students/{student}/", {"name": "J. Smith", "email": "js@example.com"}, 200),
    ("patch", "/api/students/{student}/", {"name": "Janet"}, 200),
    ("delete", "/api/students/{spare_student}/", None, 204),
    ("get", "/api/sessions/", None, 200),
    (
        "post",
        "/api/sessions/",
        {"interviewer_id": "{interviewer}", "student_id": "{student}", "title": "Backend"},
        201,
    ),
    ("get", "/api/sessions/{session}/", None, 200),
    ("get", "/api/sessions/{session_uuid}/", None, 200),
    (
        "put",
        "/api/sessions/{session}/",
        {"interviewer_id": "{interviewer}", "student_id": "{student}", "title": "Renamed"},
        200,
    ),
    ("patch", "/api/sessions/{session}/", {"title": "Renamed"}, 200),
    ("delete", "/api/sessions/{spare_session}/", None, 204),
    ("post", "/api/sessions/{session}/start/", None, 200),
    ("post", "/api/sessions/{live}/end/", None, 200),
    ("post", "/api/sessions/{session}/cancel/", None, 200),
    ("get", "/api/questions/", None, 200),
    ("get", "/api/questions/?session_id={session_uuid}", None, 200),
    ("post", "/api/questions/", {"session": "{session}", "question_text": "Why Go?"}, 201),
    ("get", "/api/questions/{question}/", None, 200),
    ("put", "/api/questions/{question}/", {"session": "{session}", "question_text": "Why?"}, 200),
    ("patch", "/api/questions/{question}/", {"difficulty": "hard"}, 200),
    ("delete", "/api/questions/{question}/", None, 204),
    (
        "post",
        "/api/questions/bulk_create/",
        {"questions": [{"session": "{session}", "question_text": "Q1"}]},
        201,
    ),
    ("get", "/api/conversations/", None, 200),
    ("get", "/api/conversations/?session_id={session_uuid}", None, 200),
    (
        "post",
        "/api/conversations/",
        {"session": "{session_uuid}", "speaker": "student", "message": "Hi"},
        201,
    ),
    ("get", "/api/conversations/{conversation}/", None, 200),
    # Staff gets past auth to input validation (no audio_file): 400, not 401/403.
    ("post", "/api/conversations/voice_to_text/", {}, 400),
    ("post", "/api/ai-interview/", {"action": "initialize", "session_id": "{session_uuid}"}, 200),
    (
        "post",
        "/api/ai-interview/",
        {"action": "respond", "session_id": "{live_uuid}", "student_response": "I like Go."},
        200,
    ),
    ("post", "/api/ai-interview/", {"action": "end", "session_id": "{live_uuid}"}, 200),
    ("get", "/api/reports/", None, 200),
    ("get", "/api/reports/{report}/", None, 200),
    ("post", "/api/reports/generate/", {"session_id": "{session_uuid}"}, 201),
    ("get", "/api/reports/{report}/download/", None, 200),
    ("get", "/api/schema/", None, 200),
    ("get", "/api/docs/", None, 200),
]
ENDPOINT_IDS = [f"{m.upper()} {p}" for m, p, _b, _s in ENDPOINTS]


@pytest.fixture
def ids(interviewer, student, session, live_session):
    conversation = services.add_conversation(session=session, speaker="ai", message="Hello")
    return {
        "interviewer": interviewer.pk,
        "student": student.pk,
        "session": session.pk,
        "session_uuid": str(session.session_id),
        "live": live_session.pk,
        "live_uuid": str(live_session.session_id),
        "spare_interviewer": services.create_interviewer(name="Spare", email="s@example.com").pk,
        "spare_student": services.create_student(name="Spare", email="s2@example.com").pk,
        "spare_session": services.create_session(
            interviewer=interviewer, student=student, title="Spare"
        ).pk,
        "question": session.questions.first().pk,
        "conversation": conversation.pk,
        "report": report_services.generate_report(session=live_session).pk,
    }


def fill(value, ids: dict):
    """The endpoint's path or body with the fixture's ids put in."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def database_state() -> dict:
    """What a refused request must leave untouched."""
    return {
        "rows": [
            m.objects.count()
            for m in (
                Interviewer,
                Student,
                InterviewSession,
                Question,
                Conversation,
                SessionEvent,
                InterviewReport,
            )
        ],
        "sessions": list(InterviewSession.objects.values_list("pk", "status", "title", "last_seq")),
        "people": list(Interviewer.objects.values_list("name", "email"))
        + list(Student.objects.values_list("name", "email")),
        "questions": list(Question.objects.values_list("question_text", "difficulty")),
    }


def call(client, method: str, path: str, body):
    kind = "multipart" if "voice_to_text" in path else "json"
    return getattr(client, method)(path, body, format=kind)


@pytest.mark.parametrize(("method", "path", "body", "staff_status"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(
    ("caller", "status", "code"),
    [
        ("anon_client", 401, "not_authenticated"),
        ("plain_client", 403, "permission_denied"),
        ("plain_session_client", 403, "permission_denied"),
    ],
)
def test_refused_callers_get_json_and_change_nothing(
    request, ids, method, path, body, staff_status, caller, status, code
):
    client = request.getfixturevalue(caller)
    before = database_state()
    # A browser's Accept header: still JSON, never the login page or HTML docs.
    client.credentials(**client._credentials, HTTP_ACCEPT="text/html,application/xhtml+xml")
    r = call(client, method, fill(path, ids), fill(body, ids))
    assert r.status_code == status, r.content
    assert r["Content-Type"] == "application/json"
    assert r.json()["code"] == code and r.json()["detail"]
    if status == 401:
        assert r["WWW-Authenticate"] == "Token"
    assert database_state() == before


@pytest.mark.parametrize(("method", "path", "body", "staff_status"), ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize("caller", ["staff_client", "staff_session_client"])
def test_staff_by_token_or_session_may_call(request, ids, method, path, body, staff_status, caller):
    client = request.getfixturevalue(caller)
    r = call(client, method, fill(path, ids), fill(body, ids))
    assert r.status_code == staff_status, getattr(r, "content", r)
    if path == "/api/conversations/voice_to_text/":
        assert "audio_file" in r.json()


def test_password_login_session_works_and_csrf_is_enforced_for_it(staff_user):
    """A real browser session (not force_login): reads work; a write without the
    CSRF token is refused, as Django session auth must; with a token header no
    CSRF is needed."""
    browser = APIClient(enforce_csrf_checks=True)
    assert browser.login(username="staff", password="pw-staff-123")
    assert browser.get("/api/interviewers/").status_code == 200
    r = browser.post("/api/students/", {"name": "A", "email": "a@example.com"}, format="json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert Student.objects.count() == 0
    browser.get("/admin/")  # a page with a form: sets the csrftoken cookie
    r = browser.post(
        "/api/students/",
        {"name": "A", "email": "a@example.com"},
        format="json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert r.status_code == 201, r.content


def test_token_header_needs_no_csrf(staff_token):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    r = client.post("/api/students/", {"name": "A", "email": "a@example.com"}, format="json")
    assert r.status_code == 201, r.content


@pytest.mark.parametrize(
    "header", ["Token not-a-real-key", "Token", "Bearer abc", "Token a b"], ids=repr
)
def test_bad_token_header_is_401_json(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    r = client.get("/api/sessions/")
    if header.startswith("Bearer"):
        # Not a Token header at all: treated as no credentials.
        assert r.json()["code"] == "not_authenticated"
    else:
        assert r.json()["code"] == "authentication_failed"
    assert r.status_code == 401 and r["Content-Type"] == "application/json"


# --- POST /api/auth/token/ -----------------------------------------------------


def test_token_endpoint_gives_a_staff_user_a_working_token(anon_client, staff_user):
    r = anon_client.post(
        "/api/auth/token/", {"username": "staff", "password": "pw-staff-123"}, format="json"
    )
    assert r.status_code == 200, r.content
    token = r.json()["token"]
    again = anon_client.post(
        "/api/auth/token/", {"username": "staff", "password": "pw-staff-123"}
    )  # form-encoded works too, and the token is stable
    assert again.json() == {"token": token}
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon_client.get("/api/sessions/").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"username": "staff", "password": "wrong"}, 400, "non_field_errors"),
        ({"username": "nobody", "password": "x"}, 400, "non_field_errors"),
        ({"username": "staff"}, 400, "password"),
        ({}, 400, "username"),
        ({"username": "plain", "password": "pw-plain-123"}, 403, "detail"),
    ],
    ids=["wrong password", "unknown user", "no password", "empty", "not staff"],
)
def test_token_endpoint_refusals(anon_client, staff_user, plain_user, body, status, field):
    r = anon_client.post("/api/auth/token/", body, format="json")
    assert r.status_code == status, r.content
    assert r["Content-Type"] == "application/json"
    assert field in r.json() and "token" not in r.json()


def test_token_endpoint_ignores_a_session_login_without_csrf(staff_user):
    """A login endpoint: a logged-in browser posting credentials is not a CSRF 403."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    r = client.post(
        "/api/auth/token/", {"username": "staff", "password": "pw-staff-123"}, format="json"
    )
    assert r.status_code == 200 and r.json()["token"]


def test_token_endpoint_rejects_get(anon_client, db):
    r = anon_client.get("/api/auth/token/")
    assert r.status_code == 405 and r["Content-Type"] == "application/json"
