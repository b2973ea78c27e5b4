"""The OpenAPI document: the refusals every operation can give, documented
once (a drf-spectacular postprocessing hook), so that a client, and a fuzzer
checking responses against the schema, finds every status it may receive."""

from __future__ import annotations

from typing import Any

HTTP_METHODS = {"get", "put", "patch", "post", "delete"}

REFUSAL = {"$ref": "#/components/schemas/Refusal"}
REFUSAL_SCHEMA = {
    "type": "object",
    "description": "A refusal or a domain error, for a person (`detail`) and a program (`code`).",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
# DRF's validation errors: messages per field (nested for nested fields, by
# index for lists), or a list of messages.
BAD_REQUEST_SCHEMA = {"anyOf": [REFUSAL, {"type": "object"}, {"type": "array"}]}

# Status -> (description, body schema): what any operation may answer.
COMMON_REFUSALS: dict[str, tuple[str, dict[str, Any]]] = {
    "400": ("Bad input: field errors, or a reason and a code.", BAD_REQUEST_SCHEMA),
    "401": ("No credentials, or credentials that match nothing.", REFUSAL),
    "403": ("Not staff, or a session-authenticated write without a CSRF token.", REFUSAL),
    "404": ("No such object, page or session.", REFUSAL),
}
DELETE_REFUSALS = {"409": ("Other records still need it.", REFUSAL)}
# Read-side fields a server may fill past what a client may write: a question
# appended after one at the highest order a client may give gets the next one.
UNBOUNDED_ON_READ = {"Question": ("order",)}


def json_body(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document_refusals(result: dict, generator, request, public) -> dict:
    """Add the common refusals to every operation; a 400 documented by a view
    also allows field errors, which DRF's validation gives."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Refusal"] = REFUSAL_SCHEMA
    for component, names in UNBOUNDED_ON_READ.items():
        for name in names:
            components.get(component, {}).get("properties", {}).get(name, {}).pop("maximum", None)
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            refusals = COMMON_REFUSALS | (DELETE_REFUSALS if method == "delete" else {})
            for status, (description, schema) in refusals.items():
                responses.setdefault(status, json_body(description, schema))
            bad_request = responses["400"].get("content", {}).get("application/json")
            if bad_request is not None:
                bad_request["schema"] = BAD_REQUEST_SCHEMA
    return result
