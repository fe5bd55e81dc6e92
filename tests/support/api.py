"""Requests to the JSON API and checks of its answers, for the API, contract and security tests."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

from webapp.api.schemas import Booking, Seat, SeatStats, Show

from .database import lapse_hold, run_sql

__all__ = ["lapse_hold", "run_sql"]  # re-exported: API tests import them from here

# The fields every answer has, from the models that declare the API's shapes.
SHOW_FIELDS = set(Show.model_fields)
STATS_FIELDS = set(SeatStats.model_fields)
SEAT_FIELDS = set(Seat.model_fields)
BOOKING_FIELDS = set(Booking.model_fields)
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def other_visitor(address: str = "10.0.0.2") -> dict[str, Any]:
    """Test-client kwargs for a request from another client address (another API visitor)."""
    return {"environ_base": {"REMOTE_ADDR": address}}


def hold(
    client: FlaskClient,
    show_id: int,
    seats: Any,
    *,
    headers: dict[str, str] | None = None,
    visitor: str | None = None,
    **fields: Any,
) -> TestResponse:
    """POST /api/bookings; ``visitor`` sends it from another client address."""
    body = {"show_id": show_id, "seats": seats, **fields}
    extra = other_visitor(visitor) if visitor else {}
    return client.post("/api/bookings", json=body, headers=headers or {}, **extra)


def hold_ok(client: FlaskClient, show_id: int, seats: list[str], **kwargs: Any) -> dict[str, Any]:
    """Hold seats and return ``{"booking", "token"}``; fails the test unless 201."""
    response = hold(client, show_id, seats, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def timestamp(value: Any) -> datetime:
    """Parse an API timestamp, insisting on ISO 8601 in UTC with an explicit offset."""
    assert isinstance(value, str), value
    assert value.endswith("+00:00"), f"not UTC with offset: {value!r}"
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0
    return parsed


def assert_problem(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with the fields the contract promises; returns its body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json()
    assert isinstance(body, dict)
    assert set(body) >= PROBLEM_FIELDS, body
    assert isinstance(body["type"], str) and body["type"].startswith("https://")
    assert body["type"].endswith("/" + body["code"])
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_booking_shape(booking: dict[str, Any]) -> None:
    assert set(booking) == BOOKING_FIELDS, booking
    assert str(uuid.UUID(booking["id"])) == booking["id"]
    assert isinstance(booking["show_id"], int) and not isinstance(booking["show_id"], bool)
    assert booking["status"] in {"PENDING", "CONFIRMED", "EXPIRED", "CANCELLED"}
    assert isinstance(booking["seats"], list) and all(isinstance(s, str) for s in booking["seats"])
    timestamp(booking["hold_expires_at"])
    timestamp(booking["created_at"])
    for field in ("confirmed_at", "cancelled_at", "expired_at"):
        if booking[field] is not None:
            timestamp(booking[field])


def wait_until_database_time(app: Flask, moment: datetime | str, timeout: float = 15.0) -> None:
    """Block until the database's clock has passed ``moment`` (a hold lapses by that clock).

    For tests about time itself (a short HOLD_SECONDS running out): a sleep
    would guess how long that takes on a loaded machine; this asks the clock
    that decides.
    """
    when = moment if isinstance(moment, datetime) else timestamp(moment)
    deadline = time.monotonic() + timeout
    while not run_sql(app, "SELECT statement_timestamp() > :moment", moment=when)[0][0]:
        assert time.monotonic() < deadline, f"the database clock did not reach {moment} within {timeout} s"
        time.sleep(0.02)


def start_show(app: Flask, show_id: int) -> None:
    """Make a show start in the past."""
    run_sql(app, "UPDATE shows SET starts_at = now() - interval '1 minute' WHERE id = :id", id=show_id)


def stored_booking(app: Flask, booking_id: str) -> Any:
    """The booking row as stored (not as the lazy-expiry read shows it)."""
    rows = run_sql(app, "SELECT status, expired_at FROM bookings WHERE id = :id", id=booking_id)
    assert len(rows) == 1
    return rows[0]


def count_bookings(app: Flask) -> int:
    return run_sql(app, "SELECT count(*) FROM bookings")[0][0]


def seat_statuses(client: FlaskClient, show_id: int) -> dict[str, str]:
    response = client.get(f"/api/shows/{show_id}/seats")
    assert response.status_code == 200
    return {seat["seat"]: seat["status"] for seat in response.get_json()["seats"]}


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- checking responses against the OpenAPI document ------------------------------------

_DOC_URI = "urn:marquee:openapi"
_FLASK_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI form: ``/api/shows/<show_id>`` -> ``/api/shows/{show_id}``."""
    return _FLASK_PARAM.sub(r"{\1}", rule)


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


class OpenAPIContract:
    """Checks real responses against the status codes, media types, headers and
    schemas the OpenAPI document declares for the operation that served them."""

    def __init__(self, app: Flask, document: dict[str, Any]) -> None:
        self.app = app
        self.document = document
        self.registry = Registry().with_resource(_DOC_URI, DRAFT202012.create_resource(document))
        self._validators: dict[str, Draft202012Validator] = {}
        self.checked: list[tuple[str, str, int]] = []

    def validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            schema = {"$ref": f"{_DOC_URI}#{quote(pointer, safe='/~')}"}
            self._validators[pointer] = Draft202012Validator(
                schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        return self._validators[pointer]

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def operation_for(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        adapter = self.app.url_map.bind("localhost")
        try:
            rule, _ = adapter.match(path, method, return_rule=True)
        except HTTPException:
            return None  # no route (404) or no such method (405): no operation to hold it to
        template = openapi_path(rule.rule)
        operation = self.document["paths"].get(template, {}).get(method.lower())
        assert operation is not None, f"{method} {template} is served but not in the OpenAPI document"
        return template, operation

    def check(self, response: TestResponse) -> None:
        request = response.request
        method = request.method
        if method in {"HEAD", "OPTIONS"}:
            return
        found = self.operation_for(method, request.path)
        if found is None:
            return
        template, operation = found
        status = str(response.status_code)
        where = f"{method} {template} -> {status}"
        assert status in operation["responses"], f"{where} is not documented"
        declared = self.resolve(operation["responses"][status])
        content = declared.get("content")
        if not content:
            assert response.get_data() == b"", f"{where} has a body the document does not declare"
        else:
            assert response.mimetype in content, f"{where}: {response.mimetype} not in {list(content)}"
            pointer = _pointer(
                "paths", template, method.lower(), "responses", status, "content", response.mimetype
            )
            errors = [
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in self.validator(pointer + "/schema").iter_errors(
                    response.get_json() if response.is_json else response.get_data(as_text=True)
                )
            ]
            assert not errors, f"{where} does not match its schema: {errors}"
        for name, header in declared.get("headers", {}).items():
            header = self.resolve(header)
            value = response.headers.get(name)
            if value is None:
                assert not header.get("required"), f"{where} lacks the required header {name}"
                continue
            schema = header["schema"]
            errors = [e.message for e in Draft202012Validator(schema).iter_errors(value)]
            assert not errors, f"{where}: header {name}={value!r}: {errors}"
        self.checked.append((method, template, response.status_code))


class ContractClient(FlaskClient):
    """A test client that holds every response it gets to the OpenAPI document."""

    contract: OpenAPIContract

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        self.contract.check(response)
        return response


def contract_client(app: Flask) -> ContractClient:
    from webapp.api.openapi import openapi_document

    with app.app_context():
        document = openapi_document()
    client = ContractClient(app, app.response_class, use_cookies=True)
    client.contract = OpenAPIContract(app, document)
    return client
