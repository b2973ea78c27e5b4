"""Fixtures for the security tests: rates lowered to a few, counts forgotten."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.conf import settings
from django.test import override_settings

from interview_rt import ratelimits


@pytest.fixture
def limits():
    """limits(socket="2/minute", upload=...): those rates for this test, from zero."""
    stack = []

    def apply(**rates: str) -> None:
        fields = {f"{kind}_rate": rate for kind, rate in rates.items()}
        override = override_settings(RT=replace(settings.RT, **fields))
        override.enable()
        stack.append(override)
        ratelimits.reset()

    yield apply
    for override in reversed(stack):
        override.disable()
    ratelimits.reset()
