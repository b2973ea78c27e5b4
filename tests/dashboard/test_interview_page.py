"""The interview's page: its controls by the session's state, each action
recorded in the audit trail, and the candidate's join link (copy, rotate)."""

from __future__ import annotations

import json
import re

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from interviews import services
from interviews.models import AuditEntry, InterviewReport, InterviewSession
from live import ai_turns

from .conftest import visible_phases

pytestmark = pytest.mark.django_db


def page(client, session) -> str:
    r = client.get(f"/dashboard/{session.session_id}/")
    assert r.status_code == 200
    return r.content.decode()


def post(client, session, action: str):
    return client.post(f"/dashboard/{session.session_id}/{action}/", follow=True)


def audit(session) -> list[tuple[str, str]]:
    return [(e.action, e.actor_name) for e in AuditEntry.objects.filter(session=session)]


def started(session) -> InterviewSession:
    """In progress with the AI's greeting, as a candidate's start leaves it."""
    async_to_sync(ai_turns.initialize)(session.session_id)
    session.refresh_from_db()
    return session


def test_a_scheduled_interview_offers_its_link_and_cancel(staff_browser, session):
    html = page(staff_browser, session)
    assert visible_phases(html) == {"scheduled"}
    assert f'value="{services.selectors.join_url(session)}"' in html
    assert ">Copy link</button>" in html and ">Rotate link</button>" in html
    assert "Cancel interview" in html
    assert audit(session) == [("viewed", "staff")]


def test_cancel_records_who_and_the_link_stops_working(staff_browser, session):
    join = f"/join/{session.session_id}/?token={session.join_token}"
    assert Client().get(join).status_code == 200
    r = post(staff_browser, session, "cancel")
    session.refresh_from_db()
    assert session.status == "cancelled"
    html = r.content.decode()
    assert "The interview is cancelled" in html and visible_phases(html) == {"ended"}
    assert ("cancelled", "staff") in audit(session)
    assert Client().get(join).status_code == 403


def test_end_session_while_in_progress(staff_browser, session):
    started(session)
    assert visible_phases(page(staff_browser, session)) == {"in_progress"}
    r = post(staff_browser, session, "end")
    session.refresh_from_db()
    assert session.status == "completed"
    assert "The session has ended." in r.content.decode()
    assert ("ended", "staff") in audit(session)
    # The AI said its closing words on the way out.
    assert session.conversations.last().speaker == "ai"


def test_once_the_ai_has_closed_the_page_offers_ending_and_the_report_in_one_step(
    staff_browser, session
):
    started(session)
    async_to_sync(ai_turns.end)(session.session_id, "ended by API")
    session.refresh_from_db()
    assert session.status == "in_progress"  # the REST `end` action leaves it so
    html = page(staff_browser, session)
    assert visible_phases(html) == {"ai_closed"}
    assert "The interviewer has finished the conversation" in html
    r = post(staff_browser, session, "end-and-report")
    session.refresh_from_db()
    report = InterviewReport.objects.get(session=session)
    assert session.status == "completed"
    html = r.content.decode()
    assert "The session has ended and the report is ready." in html
    assert visible_phases(html) == {"ended"}
    download = re.search(r'<a id="download-report" class="button" href="([^"]+)">', html)
    assert download.group(1) == f"http://testserver/api/reports/{report.pk}/download/"
    assert f'href="/dashboard/{session.session_id}/review/">Review and decide</a>' in html
    pdf = staff_browser.get(download.group(1))
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content)[:4] == b"%PDF"
    assert [a for a in audit(session) if a[0] in ("ended", "report")] == [
        ("ended", "staff"),
        ("report", "staff"),
    ]


def test_generate_report_once_completed(staff_browser, session):
    started(session)
    services.end_session(session=session, reason="candidate")
    html = page(staff_browser, session)
    assert visible_phases(html) == {"ended"}
    assert 'id="download-report" class="button" href="#" hidden' in html
    r = post(staff_browser, session, "report")
    assert "The report is ready." in r.content.decode()
    report = InterviewReport.objects.get(session=session)
    entry = AuditEntry.objects.get(session=session, action="report")
    assert entry.detail == {"report_id": report.pk} and entry.actor_name == "staff"


def test_a_refused_step_is_said_and_changes_nothing(staff_browser, session):
    r = post(staff_browser, session, "end")  # still scheduled
    session.refresh_from_db()
    assert session.status == "scheduled"
    assert "Cannot end a session that is scheduled" in r.content.decode()
    assert [a for a, _ in audit(session)] == ["viewed"]  # only the page view after it


def test_actions_need_staff_and_a_post(plain_user, staff_browser, session):
    client = Client()
    client.force_login(plain_user)
    r = client.post(f"/dashboard/{session.session_id}/cancel/")
    assert r.status_code == 302 and r["Location"].startswith("/dashboard/login/")
    assert staff_browser.get(f"/dashboard/{session.session_id}/cancel/").status_code == 405
    session.refresh_from_db()
    assert session.status == "scheduled" and not audit(session)


def test_rotating_the_link_on_the_page(staff_browser, session):
    old = session.join_token
    r = post(staff_browser, session, "rotate-link")
    session.refresh_from_db()
    assert session.join_token != old
    assert "The candidate has a new link" in r.content.decode()
    assert session.join_token in r.content.decode()
    assert Client().get(f"/join/{session.session_id}/?token={old}").status_code == 403
    assert (
        Client().get(f"/join/{session.session_id}/?token={session.join_token}").status_code == 200
    )
    assert ("link_rotated", "staff") in audit(session)


def test_rotating_the_link_over_rest(staff_client, staff_user, session):
    old_url = services.selectors.join_url(session)
    r = staff_client.post(f"/api/sessions/{session.pk}/rotate_join_token/")
    assert r.status_code == 200
    new_url = r.json()["join_url"]
    assert new_url != old_url and r.json()["session_id"] == str(session.session_id)
    path = lambda url: url.split("://", 1)[1].split("/", 1)[1]  # noqa: E731
    old = Client().get("/" + path(old_url))
    assert old.status_code == 403 and 'data-reason="invalid"' in old.content.decode()
    assert Client().get("/" + path(new_url)).status_code == 200
    entry = AuditEntry.objects.get(session=session, action="link_rotated")
    assert entry.actor == staff_user


def test_rotating_over_rest_needs_staff(plain_client, session):
    old = session.join_token
    assert plain_client.post(f"/api/sessions/{session.pk}/rotate_join_token/").status_code == 403
    session.refresh_from_db()
    assert session.join_token == old


def candidate_config(session) -> dict:
    r = Client().get(f"/join/{session.session_id}/?token={session.join_token}")
    html = r.content.decode()
    raw = html.split('<script id="candidate-config" type="application/json">', 1)[1]
    return json.loads(raw.split("</script>", 1)[0])


def test_the_candidate_page_knows_whether_the_ai_has_greeted(session):
    assert candidate_config(session)["ai_opened"] is False
    services.transition_session(session=session, action="start")  # staff, over REST
    config = candidate_config(session)
    assert (config["status"], config["ai_opened"]) == ("in_progress", False)
    started(session)
    assert candidate_config(session)["ai_opened"] is True


# --- the accommodation: extra time to answer --------------------------------------


def extra_time_card(html: str) -> str:
    return html.split('id="extra-time"', 1)[1].split("</section>", 1)[0]


def set_extra_time(client, session, value: str):
    return client.post(
        f"/dashboard/{session.session_id}/extra-time/", {"extra_time_s": value}, follow=True
    )


def test_extra_time_is_shown_and_set_while_scheduled_and_in_progress(staff_browser, session):
    card = extra_time_card(page(staff_browser, session))
    assert "None: the usual pause" in card
    assert 'value="0.0"' in card and ">Save extra time</button>" in card
    assert 'aria-describedby="extra-time-help"' in card

    r = set_extra_time(staff_browser, session, "12.5")
    session.refresh_from_db()
    assert session.extra_time_s == 12.5
    html = r.content.decode()
    assert "Extra time to answer: 12.5 seconds." in html
    assert "12.5 seconds more than the usual pause" in extra_time_card(html)

    started(session)
    r = set_extra_time(staff_browser, session, "3")
    session.refresh_from_db()
    assert session.extra_time_s == 3
    assert "3 seconds more than the usual pause" in extra_time_card(r.content.decode())
    assert [a for a, _ in audit(session) if a == "accommodation"] == ["accommodation"] * 2
    assert ("accommodation", "staff") in audit(session)


@pytest.mark.parametrize("value", ["31", "-2", "a while", ""])
def test_a_bad_extra_time_is_said_and_changes_nothing(staff_browser, session, value):
    r = set_extra_time(staff_browser, session, value)
    html = r.content.decode()
    assert 'data-message="error"' in html
    assert "Extra time must be a number of seconds from 0 to 30." in html
    session.refresh_from_db()
    assert session.extra_time_s == 0
    assert "accommodation" not in [a for a, _ in audit(session)]


def test_once_over_the_extra_time_is_only_shown(staff_browser, session):
    services.set_extra_time(session=session, extra_time_s=5)
    services.transition_session(session=session, action="cancel")
    card = extra_time_card(page(staff_browser, session))
    assert "5 seconds more than the usual pause" in card
    assert 'class="extra-time-form" data-phase="scheduled in_progress" hidden' in card
    r = set_extra_time(staff_browser, session, "9")  # a page left open from before
    assert "only before or during the interview" in r.content.decode()
    session.refresh_from_db()
    assert session.extra_time_s == 5


def test_setting_extra_time_needs_staff_and_a_post(plain_user, staff_browser, session):
    client = Client()
    client.force_login(plain_user)
    r = client.post(f"/dashboard/{session.session_id}/extra-time/", {"extra_time_s": "9"})
    assert r.status_code == 302 and r["Location"].startswith("/dashboard/login/")
    assert staff_browser.get(f"/dashboard/{session.session_id}/extra-time/").status_code == 405
    session.refresh_from_db()
    assert session.extra_time_s == 0
