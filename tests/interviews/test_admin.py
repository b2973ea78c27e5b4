"""The Django admin: every model is there, and a staff superuser can browse it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse

from interviews import selectors, services
from interviews.models import Decision, Erasure
from interviews.wire import EventType
from reports import services as report_services

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]


@pytest.fixture
def admin_client(client, db):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-1")
    client.force_login(superuser)
    return client


@pytest.fixture
def full_session(session):
    """A session with every kind of row the admin shows."""
    services.transition_session(session=session, action="start")
    question = session.questions.first()
    services.add_conversation(session=session, speaker="ai", message="Hello!", question=question)
    services.add_conversation(session=session, speaker="student", message="Hi, I am Jane.")
    services.add_observer_event(
        session=session, type_="observer.note", text="Good start", author="staff"
    )
    report_services.generate_report(session=session)
    services.record_audit(session=session, action="viewed")
    # Rows of the later models, as the decision and erasure services leave them.
    Decision.objects.create(session=session, outcome="hold", rationale="Jane: more to see")
    placeholder = services.create_student(name="Erased candidate Jane", email="x@erased.invalid")
    Erasure.objects.create(placeholder=placeholder, erased_by_name="Jane's recruiter")
    return session


def test_every_model_is_registered():
    models = apps.get_app_config("interviews").get_models()
    missing = [m.__name__ for m in models if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.parametrize(
    "model", [m._meta.model_name for m in apps.get_app_config("interviews").get_models()]
)
def test_changelist_loads(admin_client, full_session, model):
    r = admin_client.get(reverse(f"admin:interviews_{model}_changelist"))
    assert r.status_code == 200
    assert r.context["cl"].result_count >= 1  # the fixture's rows are listed
    search = admin_client.get(reverse(f"admin:interviews_{model}_changelist") + "?q=Jane")
    assert search.status_code == 200


def test_session_change_page_has_inlines_and_live_links(admin_client, full_session):
    r = admin_client.get(
        reverse("admin:interviews_interviewsession_change", args=[full_session.pk])
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "Tell me about yourself" in html and "What are your strengths?" in html  # questions
    assert "Hi, I am Jane." in html  # conversation inline
    assert selectors.dashboard_url(full_session) in html
    assert selectors.join_url(full_session) in html
    assert str(full_session.session_id) in html


@pytest.mark.parametrize(
    "model", ["interviewer", "student", "interviewsession", "question"], ids=str
)
def test_add_pages_load(admin_client, model):
    assert admin_client.get(reverse(f"admin:interviews_{model}_add")).status_code == 200


def test_plain_staff_without_permissions_cannot_see_sessions(client, staff_user, session):
    client.force_login(staff_user)
    r = client.get(reverse("admin:interviews_interviewsession_changelist"))
    assert r.status_code == 403


def changelist_action(client, action: str, *sessions):
    return client.post(
        reverse("admin:interviews_interviewsession_changelist"),
        {"action": action, "_selected_action": [s.pk for s in sessions]},
        follow=True,
    )


def test_admin_actions_change_status_like_the_api(admin_client, session, live_session_admin):
    r = changelist_action(admin_client, "start_sessions", session)
    assert "1 session(s) started." in r.content.decode()
    session.refresh_from_db()
    assert session.status == "in_progress" and session.started_at
    assert session.events.filter(type="session.state").last().payload["status"] == "in_progress"

    r = changelist_action(admin_client, "end_sessions", live_session_admin)
    live_session_admin.refresh_from_db()
    assert live_session_admin.status == "completed" and live_session_admin.ai_state["closed"]
    assert live_session_admin.events.filter(type="interview.ended").exists()

    r = changelist_action(admin_client, "cancel_sessions", session, live_session_admin)
    html = r.content.decode()
    assert "1 session(s) cancelled." in html and "Cannot cancel a session that is completed" in html
    session.refresh_from_db()
    assert session.status == "cancelled"


@pytest.fixture
def live_session_admin(interviewer, student):
    from asgiref.sync import async_to_sync

    from live import ai_turns

    live = services.create_session(interviewer=interviewer, student=student, title="Live")
    services.create_question(session=live, question_text="Why?")
    async_to_sync(ai_turns.initialize)(live.session_id)
    return live


@pytest.fixture
def scripted():
    """The scripted interviewer (no LLM), whatever the environment says."""
    with override_settings(RT=replace(settings.RT, openai_api_key="")):
        yield


def test_admin_end_goes_through_the_service_and_the_ai_closes_once(
    admin_client, scripted, live_session_admin, monkeypatch
):
    calls = []
    end_session = services.end_session

    def spy(*, session, reason):
        calls.append((session.pk, reason))
        return end_session(session=session, reason=reason)

    monkeypatch.setattr(services, "end_session", spy)
    said = list(live_session_admin.conversations.order_by("id"))

    r = changelist_action(admin_client, "end_sessions", live_session_admin)
    assert "1 session(s) ended." in r.content.decode()
    assert calls == [(live_session_admin.pk, "session ended")]
    rows = list(live_session_admin.conversations.order_by("id"))
    assert rows[: len(said)] == said and len(rows) == len(said) + 1
    closing = rows[-1]
    assert closing.speaker == "ai" and "Jane Smith" in closing.message
    # The closing words, interview.ended once (with the admin's reason), then the status.
    tail = [
        (e.seq, e.type, e.payload.get("conversation_id") or e.payload.get("reason"))
        for e in live_session_admin.events.filter(seq__gt=said[-1].seq).order_by("seq")
    ]
    assert tail == [
        (closing.seq, EventType.AI_MESSAGE, closing.pk),
        (closing.seq + 1, EventType.INTERVIEW_ENDED, "session ended"),
        (closing.seq + 2, EventType.SESSION_STATE, None),
    ]
    live_session_admin.refresh_from_db()
    assert live_session_admin.status == "completed" and live_session_admin.ai_state["closed"]


def test_admin_end_of_a_session_the_ai_never_opened(admin_client, scripted, session):
    services.transition_session(session=session, action="start")
    r = changelist_action(admin_client, "end_sessions", session)
    assert "1 session(s) ended." in r.content.decode()
    assert not session.conversations.exists()
    ended = session.events.filter(type=EventType.INTERVIEW_ENDED)
    assert [e.payload for e in ended] == [{"reason": "end"}]


def test_admin_end_of_a_session_not_in_progress_says_why(admin_client, scripted, session):
    r = changelist_action(admin_client, "end_sessions", session)
    html = r.content.decode()
    assert "Cannot end a session that is scheduled (status &#x27;scheduled&#x27;)." in html
    assert "session(s) ended" not in html
    session.refresh_from_db()
    assert session.status == "scheduled"
    assert not session.events.filter(type=EventType.INTERVIEW_ENDED).exists()


def test_admin_change_form_cannot_set_the_status(admin_client, session):
    url = reverse("admin:interviews_interviewsession_change", args=[session.pk])
    form = {
        "interviewer": session.interviewer_id,
        "student": session.student_id,
        "title": "Renamed in admin",
        "description": "",
        "duration_minutes": 45,
        "language": "en",
        "extra_time_s": 0,
        "ai_state": "{}",
        "evaluation": "null",
        "status": "completed",
        "questions-TOTAL_FORMS": 0,
        "questions-INITIAL_FORMS": 0,
        "conversations-TOTAL_FORMS": 0,
        "conversations-INITIAL_FORMS": 0,
    }
    r = admin_client.post(url, form)
    assert r.status_code == 302, r.content.decode()[:2000]
    session.refresh_from_db()
    assert session.title == "Renamed in admin" and session.status == "scheduled"


def test_admin_duration_bounds(admin_client, session):
    url = reverse("admin:interviews_interviewsession_change", args=[session.pk])
    form = {
        "interviewer": session.interviewer_id,
        "student": session.student_id,
        "title": "T",
        "duration_minutes": 0,
        "language": "en",
        "extra_time_s": 0,
        "ai_state": "{}",
        "evaluation": "null",
        "questions-TOTAL_FORMS": 0,
        "questions-INITIAL_FORMS": 0,
        "conversations-TOTAL_FORMS": 0,
        "conversations-INITIAL_FORMS": 0,
    }
    r = admin_client.post(url, form)
    assert r.status_code == 200 and "greater than or equal to 1" in r.content.decode()


@pytest.mark.parametrize(("seconds", "saved"), [("12.5", 12.5), ("31", None), ("-1", None)])
def test_admin_sets_the_extra_time_within_bounds(admin_client, session, seconds, saved):
    url = reverse("admin:interviews_interviewsession_change", args=[session.pk])
    assert 'name="extra_time_s"' in admin_client.get(url).content.decode()
    form = {
        "interviewer": session.interviewer_id,
        "student": session.student_id,
        "title": session.title,
        "duration_minutes": 30,
        "language": "en",
        "extra_time_s": seconds,
        "ai_state": "{}",
        "evaluation": "null",
        "questions-TOTAL_FORMS": 0,
        "questions-INITIAL_FORMS": 0,
        "conversations-TOTAL_FORMS": 0,
        "conversations-INITIAL_FORMS": 0,
    }
    r = admin_client.post(url, form)
    session.refresh_from_db()
    if saved is None:
        assert r.status_code == 200
        assert "Extra time must be a number of seconds from 0 to 30." in r.content.decode()
        assert session.extra_time_s == 0
    else:
        assert r.status_code == 302, r.content.decode()[:2000]
        assert session.extra_time_s == saved


def test_admin_added_session_is_announced(admin_client, interviewer, student):
    r = admin_client.post(
        reverse("admin:interviews_interviewsession_add"),
        {
            "interviewer": interviewer.pk,
            "student": student.pk,
            "title": "Added in admin",
            "duration_minutes": 30,
            "language": "en",
            "extra_time_s": 0,
            "ai_state": "{}",
            "evaluation": "null",
            "questions-TOTAL_FORMS": 0,
            "questions-INITIAL_FORMS": 0,
            "conversations-TOTAL_FORMS": 0,
            "conversations-INITIAL_FORMS": 0,
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    from interviews.models import InterviewSession

    added = InterviewSession.objects.get(title="Added in admin")
    assert [e.type for e in added.events.all()] == ["session.state"] and added.last_seq == 1
