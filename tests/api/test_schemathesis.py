"""The REST API fuzzed against its own OpenAPI schema (/api/schema/) with
schemathesis, in process through the WSGI app, as a staff user: valid and
invalid requests to every operation. No response is a 5xx; every response
has a status, content type and body the schema declares for it."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from interview_rt.wsgi import application


def not_a_crash(ctx, response, case) -> None:
    """No 5xx but the 503 an operation documents (no language model or speech
    model configured), whose body the schema checks like any other."""
    if response.status_code < 500:
        return
    documented = schema.raw_schema["paths"][case.operation.path][case.method.lower()]["responses"]
    assert response.status_code == 503 and "503" in documented, (
        f"server error {response.status_code}: {response.text[:500]}"
    )


CHECKS = [
    not_a_crash,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_test_transaction(db):
    """Django's WSGI handler closes the database connection after each request,
    and with it the test's transaction; Django's own test client keeps it
    open the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def served_schema() -> dict:
    """The document /api/schema/ serves (the same generator, without a request)."""
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(json.loads(json.dumps(served_schema(), default=str)))
schema.app = application  # requests go to the WSGI app in process


def test_the_fuzzed_schema_is_the_one_the_server_serves(in_test_transaction, staff_client):
    served = staff_client.get("/api/schema/?format=json").json()
    assert served == schema.raw_schema


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_no_response_outside_the_schema(
    case, in_test_transaction, staff_token, session
):
    case.call_and_validate(headers={"Authorization": f"Token {staff_token}"}, checks=CHECKS)


def test_a_write_to_a_path_no_route_matches_is_a_json_404(staff_client):
    """Found by the fuzzer: an id the router does not match (`0.5`) fell to the
    catch-all, where Django's CSRF check answered with an HTML 403 page."""
    staff_client.cookies["sessionid"] = "not-a-session"
    response = staff_client.post("/api/sessions/0.5/start/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_the_schema_documents_the_refusals_of_every_operation():
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            assert {"400", "401", "403", "404"} <= set(operation["responses"]), (method, path)
