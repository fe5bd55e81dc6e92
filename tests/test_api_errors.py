"""Bad input of any shape gets a clear 4xx problem+json, never a 500 (the JSON API contract)."""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta, timezone

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.api import assert_problem, bearer, contract_client, count_bookings, hold_ok, run_sql

VALID_SHOW = {"title": "Valid", "starts_at": "2099-01-01T20:00:00+00:00", "rows": 3, "seats_per_row": 4}


@pytest.fixture
def client(app):
    """Every response in this module is also held to the OpenAPI document."""
    return contract_client(app)


def post_raw(client, path, data, content_type="application/json", headers=None):
    return client.post(path, data=data, content_type=content_type, headers=headers or {})


# --- malformed bodies ---------------------------------------------------------------

MALFORMED = [
    b"",
    b"{",
    b"{'show_id': 1}",
    b'{"show_id": 1,}',
    b'{"show_id": 1} trailing',
    b"nul",
    b"NaN",
    b"1e400",
    b'"\\ud800"',  # a lone surrogate escape
    b'{"seats": ["\\udfff"]}',
    b"\xff\xfe{}",  # not UTF-8
    b'{"title": "\xe9"}',  # latin-1, not UTF-8
    b"[" * 5000,  # nested too deep
]


@pytest.mark.parametrize("data", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_json_is_400(app, client, make_show, admin_headers, data):
    make_show()
    problem = assert_problem(post_raw(client, "/api/bookings", data), 400, "malformed_json")
    assert "JSON" in problem["detail"]
    assert_problem(post_raw(client, "/api/shows", data, headers=admin_headers), 400, "malformed_json")
    assert count_bookings(app) == 0


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        None,
    ],
)
def test_wrong_content_type_is_415(client, make_show, admin_headers, content_type):
    show = make_show()
    data = json.dumps({"show_id": show["id"], "seats": ["A1"]})
    response = client.post("/api/bookings", data=data, content_type=content_type)
    problem = assert_problem(response, 415, "unsupported_media_type")
    assert "application/json" in problem["detail"]
    body = json.dumps(VALID_SHOW)
    assert_problem(
        client.post("/api/shows", data=body, content_type=content_type, headers=admin_headers), 415
    )


def test_json_with_charset_and_structured_suffix_types_are_accepted(client, make_show):
    show = make_show()
    data = json.dumps({"show_id": show["id"], "seats": ["A1"]})
    assert post_raw(client, "/api/bookings", data, "application/json; charset=utf-8").status_code == 201
    data = json.dumps({"show_id": show["id"], "seats": ["A2"]})
    assert post_raw(client, "/api/bookings", data, "application/vnd.marquee+json").status_code == 201


def test_body_over_max_content_length_is_413(app, client, make_show, admin_headers):
    show = make_show()
    limit = app.config["MAX_CONTENT_LENGTH"]
    padding = "x" * (limit + 1)
    huge_hold = json.dumps({"show_id": show["id"], "seats": ["A1"], "email": padding})
    problem = assert_problem(post_raw(client, "/api/bookings", huge_hold), 413, "payload_too_large")
    assert str(limit) in problem["detail"]
    huge_show = json.dumps({**VALID_SHOW, "title": padding})
    assert_problem(post_raw(client, "/api/shows", huge_show, headers=admin_headers), 413, "payload_too_large")
    assert count_bookings(app) == 0


def test_huge_numbers_are_422_not_500(client, make_show, admin_headers):
    make_show()
    for number in (b"18446744073709551616", b"-9223372036854775809", b"9223372036854775808", b"1e300", b"-0"):
        data = b'{"show_id": ' + number + b', "seats": ["A1"]}'
        assert_problem(post_raw(client, "/api/bookings", data), 422, "validation_error")
        data = json.dumps({**VALID_SHOW, "rows": None}).replace("null", number.decode())
        response = post_raw(client, "/api/shows", data, headers=admin_headers)
        assert_problem(response, 422, "validation_error")


# --- strange unicode ---------------------------------------------------------------------

STRANGE = [
    "\x00",
    "nul\x00inside",
    "\u200fright-to-left\u200e",
    "\u202eoverride",
    "\U0001f3ac\U0001f37f",
    "\ufeffbom",
    "\ufffe\uffff",
    "\U000e0001",
    "\U0010fffd",
    "e\u0301",
    "\u2028\u2029",
    "x" * 10_000,
    "\u0000" * 100,
    "'; DROP TABLE shows; --",
]


@pytest.mark.parametrize("value", STRANGE, ids=range(len(STRANGE)))
def test_strange_unicode_never_500(app, client, make_show, admin_headers, value):
    show = make_show()
    responses = [
        client.post("/api/shows", json={**VALID_SHOW, "title": value}, headers=admin_headers),
        client.post("/api/shows", json={**VALID_SHOW, "auditorium": value}, headers=admin_headers),
        client.post("/api/shows", json={**VALID_SHOW, "starts_at": value}, headers=admin_headers),
        client.post("/api/shows", json={**VALID_SHOW, value: 1}, headers=admin_headers),
        client.post("/api/bookings", json={"show_id": show["id"], "seats": [value]}),
        client.post("/api/bookings", json={"show_id": show["id"], "seats": ["A1"], "email": value}),
        client.post("/api/bookings", json={"show_id": show["id"], "seats": ["A1"], value: value}),
        client.get(
            f"/api/shows/{show['id']}/bookings", query_string={"status": value}, headers=admin_headers
        ),
        client.get(
            "/api/bookings/00000000-0000-0000-0000-000000000000", headers=bearer(value[:200].strip() or "x")
        ),
    ]
    for response in responses:
        assert response.status_code < 500, response.get_data(as_text=True)[:300]
        if response.status_code >= 400:
            assert_problem(response, response.status_code)
    assert responses[-1].status_code in {401, 404}


def test_strange_unicode_in_accepted_text_round_trips(client, make_show):
    for title in (
        "\u200fright-to-left\u200e",
        "\U0001f3ac\U0001f37f popcorn",
        "\u05e9\u05dc\u05d5\u05dd",
        "e\u0301",
    ):
        show = make_show(title=title, auditorium=title)
        expected = unicodedata.normalize("NFC", title)
        assert show["title"] == expected
        assert client.get(f"/api/shows/{show['id']}").get_json()["auditorium"] == expected


def test_control_characters_are_rejected_with_a_clear_message(client, admin_headers):
    response = client.post("/api/shows", json={**VALID_SHOW, "title": "a\x00b"}, headers=admin_headers)
    problem = assert_problem(response, 422, "validation_error")
    assert "control" in problem["errors"]["title"]


def test_unicode_field_names_are_reported_unknown(client, make_show):
    show = make_show()
    name = "\U0001f3ac" * 300
    response = client.post("/api/bookings", json={"show_id": show["id"], "seats": ["A1"], name: 1})
    problem = assert_problem(response, 422, "validation_error")
    assert list(problem["errors"].values()) == ["unknown field"]


# --- ids and paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/shows/abc",
        "/api/shows/99999999999999999999999999999999",
        "/api/shows/9223372036854775808",
        "/api/shows/9223372036854775807",
        "/api/shows/-5",
        "/api/shows/%00",
        "/api/shows/%F0%9F%8E%AC",
        "/api/shows/%ED%A0%80",
        "/api/shows/1%20",
        "/api/shows/" + "9" * 5000,
        "/api/shows/abc/seats",
        "/api/shows/abc/seats/stats",
    ],
)
def test_bad_show_ids_are_404_problems(client, path):
    assert_problem(client.get(path), 404, "show_not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/api/nope",
        "/api/",
        "/api",
        "/api/shows/1/nope",
        "/api/shows/",
        "/api/bookings/x/y/z",
        "/api/openapi.yaml",
    ],
)
def test_unknown_api_paths_are_json_404(client, path):
    for accept in ("text/html", "application/json", "*/*"):
        problem = assert_problem(client.get(path, headers={"Accept": accept}), 404, "not_found")
        assert path.split("?")[0] in problem["detail"]


def test_error_format_follows_accept_outside_the_api_and_says_so(client):
    """Caches must not hand an HTML error page to a JSON client, or the other way round."""
    page = client.get("/nope", headers={"Accept": "text/html"})
    assert (page.status_code, page.mimetype) == (404, "text/html")
    problem = client.get("/nope", headers={"Accept": "application/json"})
    assert (problem.status_code, problem.mimetype) == (404, "application/problem+json")
    assert "Accept" in page.vary and "Accept" in problem.vary
    assert "Accept" not in client.get("/api/nope", headers={"Accept": "text/html"}).vary


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/shows", {"GET", "POST"}),
        ("DELETE", "/api/shows", {"GET", "POST"}),
        ("PATCH", "/api/shows/1", {"GET"}),
        ("POST", "/api/shows/1/seats", {"GET"}),
        ("GET", "/api/bookings", {"POST"}),
        ("PUT", "/api/bookings/00000000-0000-0000-0000-000000000000", {"GET", "DELETE"}),
        ("GET", "/api/bookings/00000000-0000-0000-0000-000000000000/confirm", {"POST"}),
        ("DELETE", "/api/openapi.json", {"GET"}),
        ("POST", "/healthz", {"GET"}),
        ("POST", "/readyz", {"GET"}),
    ],
)
def test_wrong_method_is_405_problem(client, method, path, allowed):
    response = client.open(path, method=method)
    assert_problem(response, 405, "method_not_allowed")
    advertised = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= advertised


# --- every error, one shape -------------------------------------------------------------------


def test_every_error_is_a_problem_with_its_code(app, client, make_show, admin_headers):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])
    booking_url = f"/api/bookings/{held['booking']['id']}"
    started = make_show()
    run_sql(app, "UPDATE shows SET starts_at = now() - interval '1 hour' WHERE id = :id", id=started["id"])
    cancelled = hold_ok(client, show["id"], ["B1"])
    client.delete(f"/api/bookings/{cancelled['booking']['id']}", headers=bearer(cancelled["token"]))

    cases = [
        (client.post("/api/bookings", data="{", content_type="application/json"), 400, "malformed_json"),
        (client.get(booking_url), 401, "authentication_required"),
        (client.get(booking_url, headers=bearer("x")), 403, "forbidden"),
        (client.get("/api/shows/404"), 404, "show_not_found"),
        (client.get("/api/bookings/nope", headers=bearer("x")), 404, "booking_not_found"),
        (client.get("/api/nowhere"), 404, "not_found"),
        (client.put("/api/shows"), 405, "method_not_allowed"),
        (
            client.post("/api/bookings", json={"show_id": show["id"], "seats": ["A1"]}),
            409,
            "seats_unavailable",
        ),
        (client.post("/api/bookings", json={"show_id": started["id"], "seats": ["A1"]}), 409, "show_started"),
        (
            client.post(
                f"/api/bookings/{cancelled['booking']['id']}/confirm", headers=bearer(cancelled["token"])
            ),
            409,
            "booking_cancelled",
        ),
        (
            client.post("/api/bookings", data="x" * 70_000, content_type="application/json"),
            413,
            "payload_too_large",
        ),
        (client.post("/api/bookings", data="{}", content_type="text/plain"), 415, "unsupported_media_type"),
        (client.post("/api/bookings", json={}), 422, "validation_error"),
    ]
    for response, status, code in cases:
        assert_problem(response, status, code)


# --- fuzzing the bodies ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
hold_like = st.fixed_dictionaries(
    {},
    optional={
        "show_id": st.integers(-5, 5) | json_values,
        "seats": st.lists(st.text(max_size=4) | json_values, max_size=12) | json_values,
        "email": st.emails() | json_values,
        "extra": json_values,
    },
)
# Any fixed offset Python allows, seconds and microseconds included: all must reach PostgreSQL intact.
offsets = st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
).map(timezone)
show_like = st.fixed_dictionaries(
    {},
    optional={
        "title": st.text() | json_values,
        "starts_at": st.datetimes(timezones=st.none() | offsets).map(lambda d: d.isoformat())
        | st.text()
        | json_values,
        "rows": st.integers(-2, 30) | json_values,
        "seats_per_row": st.integers(-2, 60) | json_values,
        "auditorium": st.none() | st.text() | json_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=hold_like | json_values)
def test_fuzzed_hold_bodies_never_500(app, client, make_show, body, app_config):
    app_config.set(MAX_HELD_SEATS_PER_VISITOR=0)
    if not run_sql(app, "SELECT 1 FROM shows WHERE id = 1"):
        make_show()
    response = post_raw(client, "/api/bookings", orjson.dumps(body))
    assert response.status_code in {201, 404, 409, 422}, response.get_data(as_text=True)[:300]
    if response.status_code != 201:
        assert_problem(response, response.status_code)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=show_like | json_values)
def test_fuzzed_show_bodies_never_500(client, admin_headers, body):
    response = post_raw(client, "/api/shows", orjson.dumps(body), headers=admin_headers)
    assert response.status_code in {201, 422}, response.get_data(as_text=True)[:300]
    if response.status_code != 201:
        assert_problem(response, 422, "validation_error")


# --- odd headers and methods ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ['"', "W/", ",,,", "*", 'W/"x", "y"', "\u00e9t\u00e9", "x" * 8000, '"' + "a" * 100 + '"']
)
def test_odd_if_none_match_values(client, make_show, value):
    show = make_show()
    response = client.get(f"/api/shows/{show['id']}/seats", headers={"If-None-Match": value})
    # "*" matches any current representation; nothing else here names this one.
    assert response.status_code == (304 if value == "*" else 200)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer  ",
        "bearer x",
        "BEARER x",
        "Bearer \u00e9",
        "Bearer " + "x" * 8000,
        "Token x",
        "Bearer a b",
    ],
)
def test_odd_authorization_values(client, make_show, admin_headers, authorization):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])
    for response in (
        client.get(f"/api/bookings/{held['booking']['id']}", headers={"Authorization": authorization}),
        client.post("/api/shows", json=VALID_SHOW, headers={"Authorization": authorization}),
    ):
        problem = assert_problem(response, response.status_code)
        assert problem["status"] in {401, 403}


def test_head_and_options_on_api_routes(client, make_show):
    show = make_show()
    for path in (
        "/api/shows",
        f"/api/shows/{show['id']}",
        f"/api/shows/{show['id']}/seats",
        f"/api/shows/{show['id']}/seats/stats",
        "/api/openapi.json",
        "/healthz",
    ):
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == get.status_code == 200
        assert head.get_data() == b""
        options = client.options(path)
        assert options.status_code == 200
        assert "GET" in options.headers["Allow"]
    assert "POST" in client.options("/api/bookings").headers["Allow"]
