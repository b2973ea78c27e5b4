"""Django-client fixtures for the dashboard's pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client


@pytest.fixture
def staff_browser(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def visible_phases(html: str) -> set[str]:
    """The phases (data-phase) of the interview page's controls not hidden."""
    controls = html.split('id="session-controls"', 1)[1].split("</section>", 1)[0]
    shown = set()
    for phases, hidden in re.findall(r'data-phase="([^"]+)"( hidden)?', controls):
        if not hidden:
            shown.update(phases.split())
    return shown
