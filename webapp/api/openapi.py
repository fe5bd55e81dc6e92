"""The OpenAPI 3.1 document of the JSON API, served at /api/openapi.json.

Built, not written: the schemas come from the pydantic models of
webapp/api/schemas.py, and each operation is one ``Operation`` (webapp/api/operations.py) whose
problem answers follow from the error codes it may give (their statuses
from webapp/problems.py). tests/test_openapi.py checks that every served
route is documented and holds real answers to the document;
tests/test_fuzz_api.py fuzzes the API with it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import current_app, has_app_context
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import core_schema

from ..booking.errors import DomainError
from ..problems import HTTP_PROBLEMS, STATUS
from ..validation import MAX_ID
from .documented import DOCUMENTED
from .operations import JSON, OPERATIONS, PROBLEM_JSON, Operation, ref


def _titles() -> dict[str, str]:
    """Each problem code's title: the domain errors' own, and those only HTTP gives."""
    titles = {code: title for code, (_, title) in HTTP_PROBLEMS.items()}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        titles.setdefault(cls.code, cls.title)
        pending.extend(cls.__subclasses__())
    return titles


def _problem_responses(codes: tuple[str, ...]) -> dict[str, Any]:
    """One response per status, saying which codes it may carry."""
    titles = _titles()
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in codes:
        by_status[STATUS.get(code) or HTTP_PROBLEMS[code][0]].append(code)
    responses: dict[str, Any] = {}
    for status, status_codes in sorted(by_status.items()):
        narrowed = {"properties": {"status": {"const": status}, "code": {"enum": status_codes}}}
        schema = {"allOf": [ref("schemas", "Problem"), narrowed]}
        response: dict[str, Any] = {
            "description": "; ".join(f"{code}: {titles[code]}." for code in status_codes),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        if status == 401:
            response["headers"] = {"WWW-Authenticate": ref("headers", "WWWAuthenticate")}
        if status == 503:
            response["headers"] = {"Retry-After": ref("headers", "RetryAfter")}
        elif "rate_limited" in status_codes:  # too_many_holds has no time to wait for
            response["headers"] = {
                "Retry-After": {
                    "description": "With rate_limited: seconds until the limit lets the client through.",
                    "required": False,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            }
        responses[str(status)] = response
    return responses


def _operation(op: Operation) -> dict[str, Any]:
    status, schema_name, description = op.ok
    ok: dict[str, Any] = {"description": description}
    if op.ok_media != JSON:
        ok["content"] = {op.ok_media: {"schema": {"type": "string"}}}
    elif schema_name is None:
        ok["content"] = {JSON: {"schema": {"type": "object", "required": ["openapi", "paths"]}}}
    else:
        ok["content"] = {JSON: {"schema": ref("schemas", schema_name)}}
    if op.ok_headers:
        ok["headers"] = op.ok_headers
    built: dict[str, Any] = {"operationId": op.operation_id, "tags": [op.tag], "summary": op.summary}
    if op.description:
        built["description"] = op.description
    if op.security:  # "a|b": either scheme will do
        built["security"] = [{scheme: []} for scheme in op.security.split("|")]
    if op.parameters:
        built["parameters"] = list(op.parameters)
    if op.body:
        built["requestBody"] = {"required": True, "content": {JSON: {"schema": ref("schemas", op.body)}}}
    built["responses"] = {str(status): ok, **op.more_responses, **_problem_responses(op.problems)}
    return built


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema without titles and defaults: noise to clients, traps for fuzzers."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> dict[str, Any]:
        return self.generate_inner(schema["schema"])


def _schemas(max_seats: int) -> dict[str, Any]:
    _, top = models_json_schema(
        [(model, "validation") for model in DOCUMENTED],
        ref_template="#/components/schemas/{model}",
        schema_generator=_Schemas,
    )
    schemas = top["$defs"]
    for schema in schemas.values():
        schema.pop("title", None)
    # Optional, but never null: the schema of each alternative field is its non-null option.
    properties = schemas["HoldRequest"]["properties"]
    for name in ("seats", "quantity", "kind"):
        options = properties[name].pop("anyOf")
        properties[name] = {**next(o for o in options if o.get("type") != "null"), **properties[name]}
    properties["seats"]["maxItems"] = properties["quantity"]["maximum"] = max_seats
    return schemas


def _components(max_seats: int) -> dict[str, Any]:
    def header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "required": True, "schema": schema}

    def bearer(description: str) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": description}

    return {
        "schemas": _schemas(max_seats),
        "parameters": {
            "ShowId": {
                "name": "show_id",
                "in": "path",
                "required": True,
                "description": "A show id; anything that is not one is 404 show_not_found.",
                "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
            },
            "AuditoriumId": {
                "name": "auditorium_id",
                "in": "path",
                "required": True,
                "description": "An auditorium id; anything that is not one is 404 auditorium_not_found.",
                "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
            },
            "BookingId": {
                "name": "booking_id",
                "in": "path",
                "required": True,
                "description": "A booking's UUID; anything that is not one is 404 booking_not_found.",
                "schema": {"type": "string", "format": "uuid"},
            },
        },
        "headers": {
            "Location": header("Path of the created resource.", {"type": "string", "pattern": "^/api/"}),
            "ETag": header(
                "Strong validator of the seat map; send it back in If-None-Match.",
                {"type": "string", "pattern": '^"[0-9a-f]+"$'},
            ),
            "CacheControl": header(
                "Clients may keep a copy but must revalidate it.", {"type": "string", "enum": ["no-cache"]}
            ),
            "WWWAuthenticate": header(
                "The scheme to authenticate with.", {"enum": ["Bearer"], "type": "string"}
            ),
            "RetryAfter": header(
                "Seconds to wait before retrying.", {"pattern": "^[0-9]+$", "type": "string"}
            ),
        },
        "securitySchemes": {
            "bookingToken": bearer("The token returned by POST /api/bookings, for that booking only."),
            "adminToken": bearer("The server's ADMIN_TOKEN; admin endpoints are off when it is unset."),
            "checkinToken": bearer(
                "The server's CHECKIN_TOKEN (door staff) or its ADMIN_TOKEN; "
                "check-ins are off when both are unset."
            ),
        },
    }


def build_document(max_seats: int) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for op in OPERATIONS:
        paths[op.path][op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Marquee",
            "version": "1.0.0",
            "summary": "Movie-ticket booking: shows, live seat maps, holds and bookings.",
            "description": (
                "JSON in and out, snake_case keys, timestamps ISO 8601 in UTC with offset. "
                "Every error is application/problem+json (RFC 9457) with a machine-readable `code`."
            ),
        },
        "tags": [
            {"name": "shows", "description": "Public show listings and seat maps."},
            {"name": "bookings", "description": "Holding, confirming and cancelling seats."},
            {"name": "admin", "description": "Needs the ADMIN_TOKEN bearer."},
            {"name": "door", "description": "Needs the CHECKIN_TOKEN or ADMIN_TOKEN bearer."},
            {"name": "meta", "description": "Health checks and this document."},
        ],
        "paths": dict(paths),
        "components": _components(max_seats),
    }


_built: dict[int, dict[str, Any]] = {}


def openapi_document() -> dict[str, Any]:
    """The document for the current app's limits, built once per limit and cached.

    Callers must not mutate it: every request shares the same dict.
    MAX_SEATS_PER_BOOKING is the one setting that shapes a schema.
    """
    max_seats = int(current_app.config["MAX_SEATS_PER_BOOKING"]) if has_app_context() else 10
    if max_seats not in _built:
        _built[max_seats] = build_document(max_seats)
    return _built[max_seats]
