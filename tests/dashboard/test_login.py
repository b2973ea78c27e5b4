"""The dashboard's own login page and the login throttle (django-axes) on the
three ways in: the dashboard, the admin and POST /api/auth/token/."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LOGIN = "/dashboard/login/"
WRONG = {"username": "staff", "password": "not-the-password"}
RIGHT = {"username": "staff", "password": "pw-staff-123"}


def test_the_lobby_sends_a_stranger_to_the_dashboard_login():
    r = Client().get("/dashboard/")
    assert r.status_code == 302
    assert r["Location"] == "/dashboard/login/?next=%2Fdashboard%2F"


def test_staff_logs_in_and_lands_where_they_were_going(staff_user):
    client = Client()
    page = client.get(f"{LOGIN}?next=/dashboard/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    r = client.post(LOGIN, {**RIGHT, "next": "/dashboard/"})
    assert r.status_code == 302 and r["Location"] == "/dashboard/"
    lobby = client.get("/dashboard/")
    assert lobby.status_code == 200
    assert "New interview" in lobby.content.decode()


def test_a_wrong_password_is_said_plainly_and_logs_nobody_in(staff_user):
    client = Client()
    r = client.post(LOGIN, WRONG)
    assert r.status_code == 200
    assert "That username and password do not match" in r.content.decode()
    assert client.get("/dashboard/").status_code == 302


def test_a_non_staff_user_is_told_the_dashboard_is_for_staff(plain_user):
    client = Client()
    r = client.post(LOGIN, {"username": "plain", "password": "pw-plain-123"})
    assert r.status_code == 200
    assert "This dashboard is for staff" in r.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_logged_in_non_staff_user_is_sent_to_the_login_page_with_a_reason(plain_user):
    client = Client()
    client.force_login(plain_user)
    r = client.get("/dashboard/", follow=True)
    assert r.redirect_chain == [("/dashboard/login/?next=%2Fdashboard%2F", 302)]
    assert "which is not a staff account" in r.content.decode()


def test_logout_ends_the_session(staff_browser):
    r = staff_browser.post("/dashboard/logout/")
    assert r.status_code == 302 and r["Location"] == LOGIN
    assert staff_browser.get("/dashboard/").status_code == 302


def test_the_limit_and_cool_off_come_from_the_runtime_settings():
    assert settings.AXES_FAILURE_LIMIT == settings.RT.login_failure_limit == 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() == settings.RT.login_cooloff_minutes * 60


def statuses_until_locked(post, tries: int = 25) -> list[int]:
    seen = []
    for _ in range(tries):
        seen.append(post().status_code)
        if seen[-1] == 429:
            break
    return seen


def test_the_dashboard_login_locks_out_at_the_limit_with_a_readable_page(staff_user):
    client = Client()
    seen = statuses_until_locked(lambda: client.post(LOGIN, WRONG))
    assert seen == [200] * 9 + [429]
    r = client.post(LOGIN, RIGHT)  # even the right password, now
    assert r.status_code == 429
    html = r.content.decode()
    assert "Too many failed logins" in html and "Try again in 15 minute(s)" in html
    assert r["Content-Type"].startswith("text/html")
    assert "_auth_user_id" not in client.session


def test_the_token_endpoint_locks_out_within_25_wrong_passwords(staff_user):
    api = APIClient()
    seen = statuses_until_locked(lambda: api.post("/api/auth/token/", WRONG, format="json"))
    assert seen[-1] == 429 and len(seen) <= 25
    assert set(seen[:-1]) == {400}
    r = api.post("/api/auth/token/", RIGHT, format="json")
    assert r.status_code == 429
    assert r["Content-Type"] == "application/json"
    assert "Too many failed logins" in r.json()["detail"] and "token" not in r.json()


def test_the_admin_login_is_throttled_too(staff_user):
    client = Client()
    seen = statuses_until_locked(lambda: client.post("/admin/login/", WRONG))
    assert seen[-1] == 429 and len(seen) <= 25


def test_failures_anywhere_count_together_for_one_address(staff_user):
    client, api = Client(), APIClient()
    for _ in range(5):
        client.post(LOGIN, WRONG)
    for _ in range(4):
        api.post("/api/auth/token/", WRONG, format="json")
    assert api.post("/api/auth/token/", WRONG, format="json").status_code == 429


def test_another_address_is_not_locked_out(staff_user):
    statuses_until_locked(lambda: Client().post(LOGIN, WRONG, REMOTE_ADDR="10.0.0.1"))
    r = Client().post(LOGIN, RIGHT, REMOTE_ADDR="10.0.0.2")
    assert r.status_code == 302


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(staff_user):
    # A stranger cannot escape the lockout by sending a new address each time.
    fake = itertools.count(1)
    seen = statuses_until_locked(
        lambda: Client().post(
            LOGIN, WRONG, REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{next(fake)}"
        )
    )
    assert seen == [200] * 9 + [429]


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(staff_user, settings):
    settings.RT = replace(settings.RT, trusted_proxies="10.0.0.5")

    def via_proxy(client_address: str, data: dict):
        return Client().post(
            LOGIN,
            data,
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"{client_address}, 10.0.0.5",
        )

    seen = statuses_until_locked(lambda: via_proxy("198.51.100.7", WRONG))
    assert seen[-1] == 429
    # The proxy itself and its other clients are not locked out.
    assert via_proxy("198.51.100.8", RIGHT).status_code == 302


@pytest.mark.django_db(transaction=True)
async def test_the_lockout_page_also_comes_through_the_asgi_stack(staff_user):
    """daphne serves Django through its async handler: axes' async path too."""
    from django.test import AsyncClient

    client = AsyncClient()
    seen = [(await client.post(LOGIN, WRONG)).status_code for _ in range(10)]
    assert seen == [200] * 9 + [429]
    r = await client.post(LOGIN, RIGHT)
    assert r.status_code == 429 and "Too many failed logins" in r.content.decode()
