"""The accommodation over REST: `extra_time_s` on a session (0 to 30 s of extra
silence before an answer is taken as finished), created, read, edited while
the interview is scheduled or in progress, and each staff change audited."""

from __future__ import annotations

import json

import pytest

from interviews import services
from interviews.models import AuditEntry

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]

MESSAGE = "Extra time must be a number of seconds from 0 to 30."


def new_session(client, interviewer, student, **extra):
    body = {"interviewer_id": interviewer.pk, "student_id": student.pk, "title": "T", **extra}
    return client.post("/api/sessions/", body, format="json")


def accommodation_audits(session) -> list[str]:
    return list(
        AuditEntry.objects.filter(session=session, action="accommodation").values_list(
            "actor_name", flat=True
        )
    )


def test_created_with_extra_time_and_read_back(staff_client, interviewer, student):
    r = new_session(staff_client, interviewer, student, extra_time_s=7.5)
    assert r.status_code == 201, r.content
    assert r.json()["extra_time_s"] == 7.5
    read = staff_client.get(f"/api/sessions/{r.json()['session_id']}/").json()
    assert read["extra_time_s"] == 7.5


def test_none_given_is_zero(staff_client, interviewer, student):
    r = new_session(staff_client, interviewer, student)
    assert r.status_code == 201 and r.json()["extra_time_s"] == 0.0


@pytest.mark.parametrize("value", [-0.5, 30.5, "soon", None, [5]])
def test_a_bad_value_is_a_400_that_says_the_range_and_saves_nothing(
    staff_client, interviewer, student, session, value
):
    r = new_session(staff_client, interviewer, student, extra_time_s=value)
    assert r.status_code == 400
    assert r.json()["extra_time_s"] == [MESSAGE]
    r = staff_client.patch(f"/api/sessions/{session.pk}/", {"extra_time_s": value}, format="json")
    assert r.status_code == 400 and r.json()["extra_time_s"] == [MESSAGE]
    session.refresh_from_db()
    assert session.extra_time_s == 0 and accommodation_audits(session) == []


@pytest.mark.parametrize("raw", ['{"extra_time_s": 1e400}', "extra_time_s=NaN"])
def test_an_infinite_or_nan_value_is_refused(staff_client, session, raw):
    kind = "application/json" if raw.startswith("{") else "application/x-www-form-urlencoded"
    r = staff_client.patch(f"/api/sessions/{session.pk}/", raw, content_type=kind)
    assert r.status_code == 400 and r.json()["extra_time_s"] == [MESSAGE]


def test_patched_while_scheduled_and_in_progress_and_audited(staff_client, staff_user, session):
    r = staff_client.patch(f"/api/sessions/{session.pk}/", {"extra_time_s": 30}, format="json")
    assert r.status_code == 200 and r.json()["extra_time_s"] == 30.0
    services.transition_session(session=session, action="start")
    r = staff_client.patch(
        f"/api/sessions/{session.session_id}/", {"extra_time_s": 4}, format="json"
    )
    assert r.status_code == 200 and r.json()["extra_time_s"] == 4.0
    # An edit that leaves it alone is no accommodation change.
    staff_client.patch(f"/api/sessions/{session.pk}/", {"title": "Renamed"}, format="json")
    session.refresh_from_db()
    assert session.extra_time_s == 4.0
    assert accommodation_audits(session) == [staff_user.username] * 2
    entry = AuditEntry.objects.filter(action="accommodation").first()
    assert entry.detail == {}  # no value: the trail outlives the candidate's erasure


def test_once_over_it_cannot_change_but_a_read_body_still_round_trips(staff_client, session):
    services.transition_session(session=session, action="cancel")
    r = staff_client.patch(f"/api/sessions/{session.pk}/", {"extra_time_s": 10}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"
    assert "only before or during the interview" in r.json()["detail"]
    body = staff_client.get(f"/api/sessions/{session.pk}/").json()
    body |= {"interviewer_id": session.interviewer_id, "student_id": session.student_id}
    r = staff_client.put(f"/api/sessions/{session.pk}/", body, format="json")
    assert r.status_code == 200, r.content
    session.refresh_from_db()
    assert session.extra_time_s == 0


def test_the_schema_documents_the_field_and_its_range(staff_client):
    schema = json.loads(staff_client.get("/api/schema/?format=json").content)
    field = schema["components"]["schemas"]["Session"]["properties"]["extra_time_s"]
    assert field["type"] == "number"
    assert (field["minimum"], field["maximum"]) == (0, 30)
    assert "Accommodation" in field["description"]
    for request in ("SessionRequest", "PatchedSessionRequest"):
        assert "extra_time_s" in schema["components"]["schemas"][request]["properties"]
