"""Schemathesis against /api/openapi.json on a real gunicorn.

Every operation of the document is fuzzed with data the schemas allow
(positive) and data they forbid (negative), and every answer must be no 5xx,
a documented status code, content type and headers, and a body matching the
documented schema. That holds the document's schemas (built from the pydantic
models of webapp/api/schemas.py) and the field checks behind them
(webapp/validation.py) to each other.

Random ids rarely name anything, so the run is aimed at real data part of the
time: a show with the widest layout the schema allows (26 x 50, so every label
the hold schema allows exists) receives a share of the holds, and a pool of
real bookings (pending, confirmed, cancelled, soon expired) receives a share
of the booking calls with their own token. Those explicit credentials also
let schemathesis's ``ignored_auth`` check replay the call without them and
with forged ones, which must be refused.

Deterministic and bounded: Hypothesis is derandomized, has no example
database, and each operation gets a fixed number of examples, so CI always
sends the same requests (the answers can still differ with timing, e.g. a
hold that lapsed). The test counts the requests it made and insists on at
least ``MIN_REQUESTS``.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis.errors
import pytest
import requests
import requests.adapters
import schemathesis
import schemathesis.checks
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import FailureGroup

pytestmark = pytest.mark.slow

#: The floor for generated requests per CI run.
MIN_REQUESTS = 500
#: Examples per operation and mode. Operations without parameters have one
#: possible request, and Hypothesis stops there; the rest add up to ~1,400.
POSITIVE_EXAMPLES = 100
NEGATIVE_EXAMPLES = 50
#: Admin show creation writes up to 1,300 seat rows per show: fewer of them.
EXAMPLES_OVERRIDE = {"POST /api/shows": (40, 30)}
#: To explore beyond what CI sends: FUZZ_SEED=<n> draws other examples (random
#: and reproducible), FUZZ_SCALE=<k> multiplies the number of examples.
FUZZ_SEED = os.environ.get("FUZZ_SEED")
FUZZ_SCALE = float(os.environ.get("FUZZ_SCALE", "1"))

#: Every operation of the document but GET /api/openapi.json, which
#: schemathesis leaves out when it loaded the document from that very URL
#: (tests/test_openapi.py covers it).
EXPECTED_OPERATIONS = {
    "GET /api/shows",
    "POST /api/shows",
    "GET /api/shows/{show_id}",
    "GET /api/shows/{show_id}/seats",
    "GET /api/shows/{show_id}/seats/stats",
    "GET /api/shows/{show_id}/bookings",
    "POST /api/bookings",
    "GET /api/bookings/{booking_id}",
    "DELETE /api/bookings/{booking_id}",
    "POST /api/bookings/{booking_id}/confirm",
    "POST /api/bookings/{booking_id}/cancel",
    "GET /healthz",
    "GET /readyz",
    "GET /api/auditoriums",
    "POST /api/auditoriums",
    "GET /api/auditoriums/{auditorium_id}",
}

#: The JSON Schema behind holds cannot say "distinct once trimmed and
#: upper-cased": ["a1", " A1"] passes uniqueItems, and the server answers 422
#: validation_error ("listed more than once"), as documented and as
#: tests/test_api_bookings.py requires. Only that exact answer to that exact
#: input is let through; any other 422 to valid data is still a failure.
DUPLICATE_LABELS = "listed more than once"
#: The contract answers a key reused with another body with 422, and the
#: fuzzer draws the same Idempotency-Keys over and over with new bodies.
REUSED_KEY = "idempotency_key_reused"
#: Seat plans (issue 11): whether an auditorium_id names an auditorium, which
#: kinds of seat its plan has (and so which prices it needs), and whether an
#: auditorium name is free are facts of the database, not of the schema.
PLAN_FACTS = {"auditorium_id", "prices"}
NAME_TAKEN = "exists already"

_checks = schemathesis.checks
REQUIRED_CHECKS: list[Callable[..., Any]] = [
    _checks.not_a_server_error,
    _checks.status_code_conformance,
    _checks.content_type_conformance,
    _checks.response_schema_conformance,
    _checks.response_headers_conformance,
]


def positive_data_acceptance(ctx: Any, response: Any, case: Case) -> bool | None:
    """schemathesis's check (2xx, 3xx, 401, 403, 404, 409, 429), plus the two 422s above."""
    if response.status_code == 422 and _is_documented_refusal_of_valid_data(response, case):
        return None
    return _checks.positive_data_acceptance(ctx, response, case)


def negative_data_rejection(ctx: Any, response: Any, case: Case) -> bool | None:
    """schemathesis's check, with 414 counted as a refusal: gunicorn turns away a request
    line over 4094 bytes (documented on the operations that take query strings)."""
    if response.status_code == 414:
        return None
    return _checks.negative_data_rejection(ctx, response, case)


def _is_documented_refusal_of_valid_data(response: Any, case: Case) -> bool:
    problem = _problem(response)
    if problem.get("code") == REUSED_KEY:
        return "Idempotency-Key" in (case.headers or {})
    errors = problem.get("errors") or {}
    body = case.body if isinstance(case.body, dict) else {}
    if problem.get("code") == "validation_error" and case.operation.label == "POST /api/shows":
        return "auditorium_id" in body and bool(errors) and set(errors) <= PLAN_FACTS
    if problem.get("code") == "validation_error" and case.operation.label == "POST /api/auditoriums":
        return set(errors) == {"name"} and NAME_TAKEN in errors["name"]
    if problem.get("code") == "validation_error" and set(errors) == {"cursor"}:
        # A cursor is opaque: only those the server gave out are valid, which no schema can say.
        return "cursor" in (case.query or {})
    if problem.get("code") != "validation_error" or set(errors) != {"seats"}:
        return False
    seats = case.body.get("seats") if isinstance(case.body, dict) else None
    if not isinstance(seats, list) or not all(isinstance(label, str) for label in seats):
        return False
    normalised = [label.strip().upper() for label in seats]
    return errors["seats"].startswith(DUPLICATE_LABELS) and len(set(normalised)) < len(normalised)


CHECKS: list[Callable[..., Any]] = [
    *REQUIRED_CHECKS,
    positive_data_acceptance,
    negative_data_rejection,
    # Replays calls made with real credentials without them and with forged ones.
    _checks.ignored_auth,
]


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass(frozen=True)
class RealBooking:
    id: str
    token: str


@dataclass
class FuzzRun:
    """What was sent and what came back, for the assertions and the failure report."""

    sent: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    http_requests: int = 0  # including the probes that checks send
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def record_failure(self, case: Case, group: FailureGroup) -> None:
        for failure in group.exceptions:
            # One report per operation and kind of failure: the first example is enough.
            self.failures.setdefault((case.operation.label, failure.title), str(group))

    def summary(self) -> str:
        lines = [f"{sum(self.sent.values())} generated requests, {self.http_requests} HTTP requests in all"]
        for label, count in sorted(self.sent.items()):
            answers = sorted((status, n) for (op, status), n in self.statuses.items() if op == label)
            lines.append(f"  {label}: {count} ({', '.join(f'{s}x{n}' for s, n in answers)})")
        return "\n".join(lines)


@dataclass
class Targets:
    """Real data for a share of the requests to land on."""

    show_id: int  # 26 x 50: every label the hold schema allows exists
    quiet_show_id: int  # nobody holds seats here, so its ETag stays current
    quiet_etag: str
    auditorium_id: int  # a real auditorium, for the plan operations to land on
    #: Bookings in every state, one pool per booking operation, so that one
    #: operation (cancel) does not use up the states another (confirm) needs.
    pools: dict[str, list[RealBooking]]


def _create_widest_show(live_server: Any, admin: dict[str, str], title: str) -> int:
    body = {"title": title, "starts_at": "2099-01-01T20:00:00+00:00", "rows": 26, "seats_per_row": 50}
    response = live_server.post("/api/shows", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _booking_pool(live_server: Any, show_id: int, row: str) -> list[RealBooking]:
    """Three pending (they lapse during the run: HOLD_SECONDS is 10 s here), two confirmed, two cancelled."""
    pool: list[RealBooking] = []
    for number, action in enumerate([None, None, None, "confirm", "confirm", "cancel", "cancel"], 1):
        held = live_server.post("/api/bookings", json={"show_id": show_id, "seats": [f"{row}{number}"]})
        assert held.status_code == 201, held.text
        booking = RealBooking(held.json()["booking"]["id"], held.json()["token"])
        if action:
            url = f"/api/bookings/{booking.id}/{action}"
            settled = live_server.post(url, headers={"Authorization": f"Bearer {booking.token}"})
            assert settled.status_code == 200, settled.text
        pool.append(booking)
    return pool


def _seed(live_server: Any, admin: dict[str, str], booking_operations: list[str]) -> Targets:
    show_id = _create_widest_show(live_server, admin, "Fuzzing Hall")
    # Also 26 x 50: a generated hold may name any existing show by chance.
    quiet_show_id = _create_widest_show(live_server, admin, "Quiet Hall")
    etag = live_server.get(f"/api/shows/{quiet_show_id}/seats").headers["ETag"]
    plan = {"name": "Fuzzing Auditorium 11", "layout": ["ss.ss", "pp.pp", "wc.cw"]}
    auditorium = live_server.post("/api/auditoriums", json=plan, headers=admin)
    assert auditorium.status_code == 201, auditorium.text
    rows = "VWXYZ"
    assert len(booking_operations) <= len(rows)
    pools = {
        label: _booking_pool(live_server, show_id, row)
        for label, row in zip(booking_operations, rows, strict=False)
    }
    return Targets(show_id, quiet_show_id, etag, auditorium.json()["id"], pools)


def _aim_at(show_id: int) -> Callable[[Drawn], Drawn]:
    def aim(drawn: Drawn) -> Drawn:
        case, headers = drawn
        if isinstance(case.body, dict) and "show_id" in case.body:
            case.body = {**case.body, "show_id": show_id}
        return case, headers

    return aim


Drawn = tuple[Case, dict[str, str] | None]


def _aim_at_auditorium(auditorium_id: int, admin: dict[str, str]) -> Callable[[Drawn], Drawn]:
    """A show created, with the admin token, in the real auditorium when the body names one."""

    def aim(drawn: Drawn) -> Drawn:
        case, _ = drawn
        if isinstance(case.body, dict) and "auditorium_id" in case.body:
            case.body = {**case.body, "auditorium_id": auditorium_id}
        return case, admin

    return aim


def _strategy(
    operation: Any, mode: GenerationMode, targets: Targets, admin: dict[str, str]
) -> st.SearchStrategy[Drawn]:
    """Generated cases, and in positive mode also cases aimed at real data with real credentials.

    Credentials go in as explicit headers (not into the case), which is what
    tells ``ignored_auth`` to probe the call again without them.
    """
    generated = operation.as_strategy(generation_mode=mode).map(lambda case: (case, None))
    if not mode.is_positive:
        return generated
    label, path = operation.label, operation.path
    if label in targets.pools:
        aimed = st.sampled_from(targets.pools[label]).flatmap(
            lambda booking: operation.as_strategy(
                generation_mode=mode, path_parameters={"booking_id": booking.id}
            ).map(lambda case: (case, {"Authorization": f"Bearer {booking.token}"}))
        )
        return st.one_of(generated, aimed)
    if label == "POST /api/bookings":
        return st.one_of(generated, generated.map(_aim_at(targets.show_id)))
    if label == "GET /api/shows/{show_id}/seats":
        # A current ETag: the 304s (from the WSGI shortcut when the snapshot is cached).
        revalidate = operation.as_strategy(
            generation_mode=mode,
            path_parameters={"show_id": targets.quiet_show_id},
            headers={"If-None-Match": targets.quiet_etag},
        )
        listing = operation.as_strategy(generation_mode=mode, path_parameters={"show_id": targets.show_id})
        return st.one_of(generated, (revalidate | listing).map(lambda case: (case, None)))
    if path.startswith("/api/shows/{show_id}"):
        aimed = operation.as_strategy(generation_mode=mode, path_parameters={"show_id": targets.show_id})
        explicit = admin if label == "GET /api/shows/{show_id}/bookings" else None
        return st.one_of(generated, aimed.map(lambda case: (case, explicit)))
    if label == "POST /api/shows":
        in_auditorium = generated.map(_aim_at_auditorium(targets.auditorium_id, admin))
        return st.one_of(generated, generated.map(lambda drawn: (drawn[0], admin)), in_auditorium)
    if label == "GET /api/auditoriums/{auditorium_id}":
        aimed = operation.as_strategy(
            generation_mode=mode, path_parameters={"auditorium_id": targets.auditorium_id}
        )
        return st.one_of(generated, aimed.map(lambda case: (case, admin)))
    if path.startswith("/api/auditoriums"):
        return st.one_of(generated, generated.map(lambda drawn: (drawn[0], admin)))
    return generated


def _fuzz_operation(
    run: FuzzRun,
    operation: Any,
    mode: GenerationMode,
    strategy: st.SearchStrategy[Drawn],
    base_url: str,
    session: requests.Session,
) -> None:
    positive, negative = EXAMPLES_OVERRIDE.get(operation.label, (POSITIVE_EXAMPLES, NEGATIVE_EXAMPLES))
    examples = max(1, round((positive if mode.is_positive else negative) * FUZZ_SCALE))

    @settings(
        max_examples=examples,
        derandomize=FUZZ_SEED is None,
        database=None,
        deadline=None,
        # Failures are collected, not raised, so there is nothing to shrink.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(strategy)
    def fuzz(drawn: Drawn) -> None:
        case, explicit_headers = drawn
        run.sent[operation.label] += 1
        try:
            response = case.call_and_validate(
                base_url=base_url, session=session, headers=explicit_headers, checks=CHECKS
            )
        except FailureGroup as group:
            run.record_failure(case, group)
            return
        run.statuses[(operation.label, response.status_code)] += 1

    if FUZZ_SEED is not None:
        fuzz = seed(int(FUZZ_SEED))(fuzz)
    try:
        fuzz()
    except hypothesis.errors.Unsatisfiable:
        # No negative data exists for an operation without parameters or body.
        assert not mode.is_positive, f"{operation.label}: no positive example could be generated"


def _run_order(operation: Any) -> tuple[bool, str]:
    """Show creation last: until then every existing show is 26 x 50 (see _seed)."""
    return operation.label == "POST /api/shows", operation.label


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(
    live_server, admin_headers, monkeypatch
):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_run_order)
    assert {op.label for op in operations} >= EXPECTED_OPERATIONS
    booking_operations = [op.label for op in operations if op.path.startswith("/api/bookings/{booking_id}")]
    targets = _seed(live_server, admin_headers, booking_operations)

    run = FuzzRun()
    session = requests.Session()
    # Counted at the transport, so the probes that checks send on their own
    # sessions (ignored_auth replays without credentials) count too.
    send = requests.adapters.HTTPAdapter.send

    def counting_send(adapter: requests.adapters.HTTPAdapter, *args: Any, **kwargs: Any) -> Any:
        run.http_requests += 1
        return send(adapter, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", counting_send)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = _strategy(operation, mode, targets, admin_headers)
            _fuzz_operation(run, operation, mode, strategy, live_server.url, session)

    print(run.summary())  # shown with -s or -rP: how many requests were sent
    assert not run.failures, "\n\n".join(
        [f"{len(run.failures)} schemathesis failure(s):", *run.failures.values()]
    )
    generated = sum(run.sent.values())
    assert generated >= MIN_REQUESTS, run.summary()
    assert run.http_requests >= generated  # every generated case went over the wire
    # The aimed share reached the interesting answers, not only 404s for random ids.
    for label, status in [
        ("POST /api/bookings", 201),
        ("POST /api/bookings", 409),
        ("POST /api/bookings/{booking_id}/confirm", 200),
        ("POST /api/bookings/{booking_id}/confirm", 409),
        ("POST /api/bookings/{booking_id}/cancel", 200),
        ("GET /api/bookings/{booking_id}", 200),
        ("GET /api/shows/{show_id}/seats", 304),
        ("GET /api/shows/{show_id}/bookings", 200),
        ("POST /api/shows", 201),
        ("POST /api/auditoriums", 201),
        ("GET /api/auditoriums", 200),
        ("GET /api/auditoriums/{auditorium_id}", 200),
    ]:
        assert run.statuses[(label, status)] > 0, f"no {status} for {label}\n{run.summary()}"
