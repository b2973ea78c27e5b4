"""The candidates pages as staff see them: the list, a candidate, erasing
their data with a typed confirmation, and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from interviews import services
from interviews.models import Erasure, Student
from tests.erasure_data import SPOKEN_ANSWER, interview_with_everything, stored_files

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def staff_browser(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def jane(db):
    return services.create_student(name="Jane Smith", email="jane.smith@example.com")


@pytest.fixture
def ended(media, interviewer, jane, staff_user):
    return interview_with_everything(
        interviewer=interviewer, student=jane, staff=staff_user, report=False
    )


def text(response) -> str:
    return " ".join(response.content.decode().split())


def test_the_list_shows_each_candidate_with_interviews_and_decisions(
    staff_browser, ended, interviewer, jane
):
    upcoming = services.create_session(interviewer=interviewer, student=jane, title="Round two")
    services.create_student(name="Bob Lee", email="bob@example.com")
    r = staff_browser.get("/dashboard/candidates/")
    assert r.status_code == 200
    page = text(r)
    assert "Jane Smith" in page and "jane.smith@example.com" in page and "Bob Lee" in page
    assert f'href="/dashboard/{ended.session_id}/review/"' in page  # ended: the review page
    assert f'href="/dashboard/{upcoming.session_id}/"' in page  # not ended: the live view
    assert "Decision: <strong>Advance</strong> by staff" in page
    assert "No decision yet" in page and "No interviews." in page  # Round two; Bob
    assert 'href="/dashboard/interviews.csv"' in page and "Export CSV" in page
    assert f'href="/dashboard/candidates/{jane.pk}/"' in page
    assert page.index("Bob Lee") < page.index("Jane Smith")  # newest first


def test_the_list_is_paged(staff_browser):
    for i in range(51):
        services.create_student(name=f"Candidate {i:02d}", email=f"c{i}@example.com")
    first = text(staff_browser.get("/dashboard/candidates/"))
    assert first.count('class="card candidate"') == 50
    assert "Candidate 50" in first and "Candidate 00" not in first
    assert 'href="?page=2">Next page</a>' in first and "Page 1 of 2" in first
    second = text(staff_browser.get("/dashboard/candidates/?page=2"))
    assert second.count('class="card candidate"') == 1 and "Candidate 00" in second


def test_the_staff_header_links_to_the_candidates(staff_browser):
    assert '<a href="/dashboard/candidates/">Candidates</a>' in text(
        staff_browser.get("/dashboard/")
    )


@pytest.mark.parametrize(
    "path", ["/dashboard/candidates/", "/dashboard/candidates/1/", "/dashboard/interviews.csv"]
)
def test_the_pages_need_staff(client, plain_user, path):
    assert client.get(path).status_code == 302
    client.force_login(plain_user)
    r = client.get(path)
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_the_candidate_page_offers_to_delete_their_data(staff_browser, ended, jane):
    r = staff_browser.get(f"/dashboard/candidates/{jane.pk}/")
    page = text(r)
    assert r.status_code == 200 and "jane.smith@example.com" in page
    assert "Backend interview with Jane Smith" in page
    assert f'<a class="button danger" href="/dashboard/candidates/{jane.pk}/erase/">' in page
    assert staff_browser.get("/dashboard/candidates/9999/").status_code == 404


def test_erasing_needs_the_name_typed_then_shows_what_was_removed(
    staff_browser, ended, jane, django_capture_on_commit_callbacks
):
    url = f"/dashboard/candidates/{jane.pk}/erase/"
    confirm = text(staff_browser.get(url))
    assert "Delete Jane Smith's data?" in confirm
    assert (
        '<label for="id_confirm_name">Type the candidate&#x27;s name to confirm</label>' in confirm
    )

    wrong = staff_browser.post(url, {"confirm_name": "Jane"})
    assert wrong.status_code == 400
    assert "That is not the candidate&#x27;s name" in text(wrong)
    assert 'aria-invalid="true"' in text(wrong)
    assert Student.objects.filter(pk=jane.pk).exists() and not Erasure.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = staff_browser.post(url, {"confirm_name": "  jane   SMITH "})
    record = Erasure.objects.get()
    assert done.status_code == 302
    assert done["Location"] == f"/dashboard/candidates/erased/{record.pk}/"
    result = text(staff_browser.get(done["Location"]))
    assert "Candidate data erased" in result and "by staff" in result
    assert "<td>Transcript lines</td><td>3</td>" in result
    assert "<td>Recorded answers (audio files)</td><td>1</td>" in result
    assert f"Erased candidate #{record.pk}" in result
    assert not Student.objects.filter(pk=jane.pk).exists() and stored_files() == []

    listing = text(staff_browser.get("/dashboard/candidates/"))
    assert "Jane Smith" not in listing and "Data erased on" in listing
    assert f"Backend interview with Erased candidate #{record.pk}" in listing
    placeholder = text(staff_browser.get(f"/dashboard/candidates/{record.placeholder_id}/"))
    assert "anonymous stand-in" in placeholder and "Delete candidate data" not in placeholder
    # The old candidate's pages are gone.
    assert staff_browser.get(url).status_code == 404


def test_erasing_is_refused_in_plain_words_while_an_interview_is_live(
    staff_browser, interviewer, jane
):
    live = services.create_session(interviewer=interviewer, student=jane, title="Live one")
    services.transition_session(session=live, action="start")
    url = f"/dashboard/candidates/{jane.pk}/erase/"
    message = (
        "The interview “Live one” is live; end it first, then erase this candidate&#x27;s data."
    )
    page = text(staff_browser.get(url))
    assert message in page and "confirm_name" not in page
    r = staff_browser.post(url, {"confirm_name": "Jane Smith"})
    assert r.status_code == 409 and message in text(r)
    assert Student.objects.filter(pk=jane.pk).exists() and not Erasure.objects.exists()


def test_the_placeholder_cannot_be_erased_from_the_page(staff_browser, interviewer, jane):
    services.create_session(interviewer=interviewer, student=jane, title="t")
    staff_browser.post(f"/dashboard/candidates/{jane.pk}/erase/", {"confirm_name": "Jane Smith"})
    placeholder = Erasure.objects.get().placeholder
    url = f"/dashboard/candidates/{placeholder.pk}/erase/"
    assert "already been erased" in text(staff_browser.get(url))
    r = staff_browser.post(url, {"confirm_name": placeholder.name})
    assert r.status_code == 409 and Erasure.objects.count() == 1


def rows_of(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def test_the_csv_has_one_row_per_interview_with_scores_and_decision(
    staff_browser, ended, interviewer, jane
):
    services.save_evaluation(
        session=ended,
        evaluation={
            **ended.evaluation,
            "overall_score": 3.5,
            "questions": [
                {**ended.evaluation["questions"][0], "score": 4},
                {**ended.evaluation["questions"][0], "score": 1},
            ],
        },
    )
    upcoming = services.create_session(interviewer=interviewer, student=jane, title="Round two")
    r = staff_browser.get("/dashboard/interviews.csv")
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith('attachment; filename="interviews-')
    first, second = rows_of(r)
    assert first["interview_id"] == str(ended.pk)
    assert first["session_uuid"] == str(ended.session_id)
    assert first["title"] == "Backend interview with Jane Smith"
    assert (first["candidate_name"], first["candidate_email"]) == (
        "Jane Smith",
        "jane.smith@example.com",
    )
    assert first["interviewer"] == "John Doe" and first["status"] == "Completed"
    assert first["started_at"] and first["ended_at"] and not first["scheduled_at"]
    assert (first["overall_score"], first["question_average"]) == ("3.5", "2.50")
    assert (first["decision"], first["decided_by"]) == ("Advance", "staff")
    assert first["decided_at"].startswith(str(ended.decisions.get().decided_at.year))
    assert second["interview_id"] == str(upcoming.pk) and second["status"] == "Scheduled"
    assert second["overall_score"] == second["decision"] == second["decided_at"] == ""
    assert SPOKEN_ANSWER not in r.content.decode()  # no transcript in the export


def test_the_csv_defuses_cells_a_spreadsheet_would_run(staff_browser, interviewer):
    evil = services.create_student(name='=HYPERLINK("http://x")', email="a@example.com")
    services.create_session(interviewer=interviewer, student=evil, title="+1 round")
    services.create_session(interviewer=interviewer, student=evil, title="@SUM(A1)")
    services.create_session(interviewer=interviewer, student=evil, title='-2, "quoted"\nline')
    rows = rows_of(staff_browser.get("/dashboard/interviews.csv"))
    assert [row["title"] for row in rows] == ["'+1 round", "'@SUM(A1)", '\'-2, "quoted"\nline']
    assert {row["candidate_name"] for row in rows} == {'\'=HYPERLINK("http://x")'}
