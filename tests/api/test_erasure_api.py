"""POST /api/students/{id}/erase/ and DELETE /api/students/{id}/ of a candidate
with interviews, as a script using the API sees them."""

from __future__ import annotations

import json

import pytest

from interviews import services
from interviews.models import Erasure
from tests.erasure_data import SPOKEN_ANSWER, TYPED_ANSWER, interview_with_everything, stored_files

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def jane(db):
    return services.create_student(name="Jane Smith", email="jane.smith@example.com")


@pytest.fixture
def interview(media, interviewer, jane, staff_user):
    return interview_with_everything(interviewer=interviewer, student=jane, staff=staff_user)


def all_rows(client, path: str) -> list[dict]:
    r = client.get(path, {"page_size": 200})
    assert r.status_code == 200, r.content
    body = r.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


def test_erase_returns_the_record_and_the_api_forgets_the_candidate(
    staff_client, interview, jane, django_capture_on_commit_callbacks
):
    assert (
        len(all_rows(staff_client, f"/api/conversations/?session_id={interview.session_id}")) == 3
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = staff_client.post(f"/api/students/{jane.pk}/erase/")
    assert r.status_code == 200, r.content
    body = r.json()
    record = Erasure.objects.get()
    assert set(body) == {
        "erasure_id",
        "erased_at",
        "erased_by",
        "removed",
        "placeholder_student_id",
    }
    assert body["erasure_id"] == record.pk and body["erased_by"] == "staff"
    assert body["placeholder_student_id"] == record.placeholder_id
    assert body["removed"]["conversations"] == 3 and body["removed"]["audio_files"] == 1

    students = all_rows(staff_client, "/api/students/")
    assert [s["name"] for s in students] == [f"Erased candidate #{record.pk}"]
    assert all_rows(staff_client, f"/api/conversations/?session_id={interview.session_id}") == []
    assert all_rows(staff_client, "/api/reports/") == []
    assert staff_client.get(f"/api/students/{jane.pk}/").status_code == 404
    session = staff_client.get(f"/api/sessions/{interview.pk}/").json()
    assert session["student"]["id"] == record.placeholder_id
    assert session["title"] == f"Backend interview with Erased candidate #{record.pk}"
    listed = json.dumps(all_rows(staff_client, "/api/sessions/")).lower()
    assert "jane" not in listed and "smith" not in listed
    assert SPOKEN_ANSWER not in json.dumps(all_rows(staff_client, "/api/conversations/"))
    assert TYPED_ANSWER not in json.dumps(all_rows(staff_client, "/api/conversations/"))
    assert staff_client.get(f"/api/sessions/{interview.pk}/evaluation/").status_code == 404
    assert stored_files() == []


def test_erase_is_refused_while_an_interview_is_live(staff_client, interviewer, jane):
    live = services.create_session(interviewer=interviewer, student=jane, title="Live")
    services.transition_session(session=live, action="start")
    r = staff_client.post(f"/api/students/{jane.pk}/erase/")
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"
    assert "is live; end it first" in r.json()["detail"]
    assert staff_client.get(f"/api/students/{jane.pk}/").json()["name"] == "Jane Smith"


def test_erase_of_an_unknown_student_is_404(staff_client):
    r = staff_client.post("/api/students/9999/erase/")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_erase_needs_staff(anon_client, plain_client, jane):
    assert anon_client.post(f"/api/students/{jane.pk}/erase/").status_code == 401
    assert plain_client.post(f"/api/students/{jane.pk}/erase/").status_code == 403
    assert Erasure.objects.count() == 0


def test_erasing_the_placeholder_is_refused(staff_client, interviewer, jane):
    services.create_session(interviewer=interviewer, student=jane, title="t")
    placeholder_id = staff_client.post(f"/api/students/{jane.pk}/erase/").json()[
        "placeholder_student_id"
    ]
    r = staff_client.post(f"/api/students/{placeholder_id}/erase/")
    assert r.status_code == 409 and "placeholder" in r.json()["detail"]


def test_delete_of_a_candidate_with_interviews_names_the_erase_endpoint(
    staff_client, interviewer, jane
):
    for title in ("First", "Second"):
        services.create_session(interviewer=interviewer, student=jane, title=title)
    r = staff_client.delete(f"/api/students/{jane.pk}/")
    assert r.status_code == 409
    assert r.json() == {
        "detail": f"Student {jane.pk} has 2 interview sessions; erase their data with "
        f"POST /api/students/{jane.pk}/erase/ instead.",
        "code": "in_use",
    }


def test_delete_of_the_placeholder_says_it_keeps_the_interviews(staff_client, interviewer, jane):
    services.create_session(interviewer=interviewer, student=jane, title="t")
    placeholder_id = staff_client.post(f"/api/students/{jane.pk}/erase/").json()[
        "placeholder_student_id"
    ]
    r = staff_client.delete(f"/api/students/{placeholder_id}/")
    assert r.status_code == 409
    assert (
        "anonymous placeholder" in r.json()["detail"]
        and "1 interview session;" in r.json()["detail"]
    )


def test_delete_of_a_candidate_without_interviews_still_works(staff_client, jane):
    assert staff_client.delete(f"/api/students/{jane.pk}/").status_code == 204
    assert staff_client.get(f"/api/students/{jane.pk}/").status_code == 404


def test_the_schema_documents_erase(staff_client):
    schema = json.loads(staff_client.get("/api/schema/?format=json").content)
    operation = schema["paths"]["/api/students/{id}/erase/"]["post"]
    assert set(operation["responses"]) >= {"200", "404", "409"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {
        "erasure_id",
        "erased_at",
        "erased_by",
        "removed",
        "placeholder_student_id",
    }
    assert "409" in schema["paths"]["/api/students/{id}/"]["delete"]["responses"]
