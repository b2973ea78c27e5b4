"""The OpenAPI document describes the contract, cleanly; the docs page serves it."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = [pytest.mark.django_db]

CRUD = {"get", "post"}, {"get", "put", "patch", "delete"}
CONTRACT = {
    "/api/auth/token/": {"post"},
    "/api/interviewers/": CRUD[0],
    "/api/interviewers/{id}/": CRUD[1],
    "/api/students/": CRUD[0],
    "/api/students/{id}/": CRUD[1],
    "/api/sessions/": CRUD[0],
    "/api/sessions/{id}/": CRUD[1],
    "/api/sessions/{id}/start/": {"post"},
    "/api/sessions/{id}/end/": {"post"},
    "/api/sessions/{id}/cancel/": {"post"},
    "/api/questions/": CRUD[0],
    "/api/questions/{id}/": CRUD[1],
    "/api/questions/bulk_create/": {"post"},
    "/api/conversations/": {"get", "post"},
    "/api/conversations/{id}/": {"get"},
    "/api/conversations/voice_to_text/": {"post"},
    "/api/ai-interview/": {"post"},
    "/api/reports/": {"get"},
    "/api/reports/{id}/": {"get"},
    "/api/reports/generate/": {"post"},
    "/api/reports/{id}/download/": {"get"},
}
HTTP_METHODS = {"get", "put", "patch", "post", "delete", "head", "options", "trace"}


@pytest.fixture
def schema(staff_client) -> dict:
    r = staff_client.get("/api/schema/?format=json")
    assert r.status_code == 200
    return json.loads(r.content)


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on an invalid document


def test_schema_lists_every_contract_path_and_method(schema):
    listed = {
        path: {m for m in item if m in HTTP_METHODS} for path, item in schema["paths"].items()
    }
    assert {path: listed.get(path) for path in CONTRACT} == CONTRACT


def test_every_documented_operation_refuses_anonymous_and_non_staff(
    schema, anon_client, plain_client, session
):
    """Whatever endpoint is added later, it needs staff (except the token login)."""
    for path, item in schema["paths"].items():
        url = path.replace("{id}", str(session.pk))
        for method in {m for m in item if m in HTTP_METHODS}:
            if path == "/api/auth/token/":
                continue
            for client, status in ((anon_client, 401), (plain_client, 403)):
                r = getattr(client, method)(url, {}, format="json")
                assert r.status_code == status, (method, url, r.content)
                assert r["Content-Type"] == "application/json"


def test_schema_documents_auth_and_request_shapes(schema):
    security = schema["components"]["securitySchemes"]
    assert {s["type"] for s in security.values()} >= {"apiKey"}
    assert any(s.get("in") == "cookie" for s in security.values())  # session login
    session_create = schema["paths"]["/api/sessions/"]["post"]["requestBody"]
    ref = session_create["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][ref]["properties"]
    assert {"interviewer_id", "student_id", "title", "duration_minutes", "scheduled_at"} <= set(
        fields
    )
    ai = schema["paths"]["/api/ai-interview/"]["post"]["responses"]
    assert {"200", "400", "404", "409"} <= set(ai)
    upload = schema["paths"]["/api/conversations/voice_to_text/"]["post"]["requestBody"]
    assert "multipart/form-data" in upload["content"]
    download = schema["paths"]["/api/reports/{id}/download/"]["get"]["responses"]["200"]
    assert "application/pdf" in download["content"]


def test_spectacular_command_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert set(CONTRACT) <= set(yaml.safe_load(target.read_text())["paths"])


def test_a_browser_gets_the_yaml_not_a_406(staff_session_client):
    r = staff_session_client.get("/api/schema/", HTTP_ACCEPT="text/html")
    assert r.status_code == 200
    assert yaml.safe_load(r.content)["info"]["title"] == "interview-rt API"


def test_docs_page_is_html_that_loads_the_schema(staff_session_client):
    r = staff_session_client.get("/api/docs/", HTTP_ACCEPT="text/html")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/html")
    html = r.content.decode()
    assert "swagger" in html.lower()
    # Its start-up script is a file (no inline script under the CSP); that
    # script loads the schema.
    script = re.search(r'<script src="(/api/docs/\?script=[^"]*)"></script>', html)
    assert script, html
    js = staff_session_client.get(script.group(1).replace("&amp;", "&"))
    assert js.status_code == 200 and js["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in js.content.decode()


def test_docs_page_needs_no_cdn(staff_session_client):
    """Self-hosted: Swagger UI's files come from this server's static files."""
    html = staff_session_client.get("/api/docs/", HTTP_ACCEPT="text/html").content.decode()
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
