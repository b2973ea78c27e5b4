"""The Django admin: every model is there, and a staff superuser can browse it."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from interviews import selectors, services
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
