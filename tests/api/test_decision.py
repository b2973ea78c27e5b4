"""The hiring decision over REST: /api/sessions/{id}/decision/ and the session's
`decision` field."""

from __future__ import annotations

import json

import pytest

from interviews import services
from interviews.models import AuditEntry, Decision

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def ended(session):
    services.transition_session(session=session, action="start")
    services.transition_session(session=session, action="end")
    session.refresh_from_db()
    return session


def url(session, by_uuid: bool = False) -> str:
    return f"/api/sessions/{session.session_id if by_uuid else session.pk}/decision/"


def test_post_records_the_decision_by_the_requesting_user(staff_client, staff_user, ended):
    r = staff_client.post(
        url(ended),
        {"outcome": "advance", "rationale": "  Strong system design answers.  "},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {
        "id",
        "outcome",
        "outcome_display",
        "rationale",
        "decided_by",
        "decided_at",
    }
    assert body["outcome"] == "advance"
    assert body["outcome_display"] == "Advance"
    assert body["rationale"] == "Strong system design answers."
    assert body["decided_by"] == "staff"
    row = Decision.objects.get(pk=body["id"])
    assert (row.session_id, row.decided_by, row.outcome) == (ended.pk, staff_user, "advance")
    audit = AuditEntry.objects.get(session=ended, action=AuditEntry.Action.DECISION)
    assert audit.actor == staff_user
    assert audit.detail == {"decision_id": row.pk, "outcome": "advance"}


def test_get_returns_the_newest_decision_and_earlier_ones_as_history(staff_client, ended):
    for outcome, why in (("hold", "Wait for the other panel."), ("reject", "Weak on basics.")):
        r = staff_client.post(url(ended), {"outcome": outcome, "rationale": why}, format="json")
        assert r.status_code == 201
    r = staff_client.post(
        url(ended, by_uuid=True),
        {"outcome": "advance", "rationale": "Panel agreed."},
        format="json",
    )
    assert r.status_code == 201
    for lookup in (url(ended), url(ended, by_uuid=True)):
        body = staff_client.get(lookup).json()
        assert (body["outcome"], body["rationale"]) == ("advance", "Panel agreed.")
        assert [(d["outcome"], d["rationale"]) for d in body["history"]] == [
            ("reject", "Weak on basics."),
            ("hold", "Wait for the other panel."),
        ]
        assert body["history"][0]["decided_by"] == "staff"


def test_get_without_a_decision_is_a_json_404(staff_client, ended):
    r = staff_client.get(url(ended))
    assert r.status_code == 404
    assert r.json() == {
        "detail": "No decision has been recorded for this interview yet.",
        "code": "no_decision",
    }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"outcome": "maybe", "rationale": "Why not."}, "outcome"),
        ({"rationale": "No outcome given."}, "outcome"),
        ({"outcome": "advance", "rationale": "   "}, "rationale"),
        ({"outcome": "advance"}, "rationale"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_saves_nothing(staff_client, ended, payload, field):
    r = staff_client.post(url(ended), payload, format="json")
    assert r.status_code == 400
    assert field in r.json()
    assert not Decision.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DECISION).exists()


def test_a_running_interview_cannot_be_decided(staff_client, session):
    services.transition_session(session=session, action="start")
    r = staff_client.post(
        url(session), {"outcome": "advance", "rationale": "Great."}, format="json"
    )
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "invalid_transition"
    assert body["detail"] == "Only an ended interview can be decided; this one is in progress."
    assert not Decision.objects.exists()


def test_unknown_session_is_404(staff_client, db):
    r = staff_client.get("/api/sessions/999999/decision/")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = staff_client.post(
        "/api/sessions/00000000-0000-4000-8000-000000000000/decision/",
        {"outcome": "hold", "rationale": "x"},
        format="json",
    )
    assert r.status_code == 404


def test_anonymous_and_non_staff_are_refused(anon_client, plain_client, ended):
    for client, expected in ((anon_client, 401), (plain_client, 403)):
        assert client.get(url(ended)).status_code == expected
        r = client.post(url(ended), {"outcome": "advance", "rationale": "x"}, format="json")
        assert r.status_code == expected
    assert not Decision.objects.exists()


def test_the_session_reads_carry_the_current_decision(staff_client, ended):
    assert staff_client.get(f"/api/sessions/{ended.pk}/").json()["decision"] is None
    staff_client.post(url(ended), {"outcome": "hold", "rationale": "First look."}, format="json")
    staff_client.post(url(ended), {"outcome": "reject", "rationale": "Final."}, format="json")
    detail = staff_client.get(f"/api/sessions/{ended.session_id}/").json()
    assert detail["decision"]["outcome"] == "reject"
    assert detail["decision"]["rationale"] == "Final."
    assert detail["decision"]["decided_by"] == "staff"
    listed = staff_client.get("/api/sessions/").json()["results"]
    assert [row["decision"]["outcome"] for row in listed if row["id"] == ended.pk] == ["reject"]


def test_the_decision_field_is_read_only(staff_client, ended):
    r = staff_client.patch(
        f"/api/sessions/{ended.pk}/",
        {"title": "Renamed", "decision": {"outcome": "advance", "rationale": "sneaky"}},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["decision"] is None
    assert not Decision.objects.exists()


def test_schema_documents_the_decision_endpoint_and_field(staff_client):
    schema = json.loads(staff_client.get("/api/schema/?format=json").content)
    item = schema["paths"]["/api/sessions/{id}/decision/"]
    assert {"get", "post"} <= set(item)
    assert {"201", "400", "404", "409"} <= set(item["post"]["responses"])
    request = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][request.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {"outcome", "rationale"}
    outcome = fields["outcome"]
    if "$ref" in outcome:
        outcome = schema["components"]["schemas"][outcome["$ref"].rsplit("/", 1)[1]]
    assert outcome["enum"] == ["advance", "hold", "reject"]
    read = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "history" in schema["components"]["schemas"][read.rsplit("/", 1)[1]]["properties"]
    session_fields = schema["components"]["schemas"]["Session"]["properties"]
    assert "decision" in session_fields
