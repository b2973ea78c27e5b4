"""Staff actions over REST join the interview's audit trail, with who did them."""

from __future__ import annotations

import pytest

from interviews.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_rest_actions_are_on_the_audit_trail(staff_client, session):
    base = f"/api/sessions/{session.pk}"
    assert staff_client.post(f"{base}/start/").status_code == 200
    assert staff_client.post(f"{base}/end/").status_code == 200
    r = staff_client.post(
        "/api/reports/generate/", {"session_id": str(session.session_id)}, format="json"
    )
    assert r.status_code == 201
    assert staff_client.post(f"{base}/rotate_join_token/").status_code == 200
    r = staff_client.post(
        f"{base}/decision/", {"outcome": "hold", "rationale": "One more round."}, format="json"
    )
    assert r.status_code == 201
    trail = list(
        AuditEntry.objects.filter(session=session).values_list("action", "actor__username")
    )
    assert trail == [
        ("started", "staff"),
        ("ended", "staff"),
        ("report", "staff"),
        ("link_rotated", "staff"),
        ("decision", "staff"),
    ]


def test_a_refused_action_leaves_no_audit_line(staff_client, session):
    assert staff_client.post(f"/api/sessions/{session.pk}/end/").status_code == 409
    assert not AuditEntry.objects.filter(session=session).exists()
