"""The hot path: hold every requested seat for ``hold_seconds``, or none of them.

In order: the Idempotency-Key claim (a duplicate waits for the original and
replays it), the Redis seat locks (a request racing for the same seats is
turned away early), then one SQL statement that takes the row locks in id
order and writes the hold only if every seat is free. The row locks decide.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..events import mark_seats_changed, mark_version_bumped, on_outcome
from ..locks import SeatLocker, SeatsLocked
from ..models import BookingStatus
from . import gaps, idempotency
from .errors import CompanionWithoutWheelchair, SeatsUnavailable, ShowStarted, TooManyHolds, ValidationFailed
from .expiry import expire_bookings
from .queries import booking_json, require_scheduled_show
from .settings import BookingSettings
from .tokens import hash_token, new_token

#: A seat label as stored: a row letter and a seat number (A1 .. Z99).
LABEL_PATTERN = re.compile(r"^([A-Z])([1-9][0-9]?)$")


@dataclass(frozen=True, slots=True)
class HoldRequest:
    show_id: int
    #: Distinct labels, upper-case.
    seats: tuple[str, ...]
    email: str | None = None
    #: "session:<id>" or "ip:<address>": whose holds count towards the per-visitor
    #: limit, and the scope of its Idempotency-Keys.
    visitor: str | None = None
    #: The client's address: its holds count towards the same limit, whatever
    #: the session, so dropping the cookie does not make a new visitor.
    client_address: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    booking: dict[str, Any]
    #: The booking's bearer token; only its hash is stored.
    token: str
    #: True when an Idempotency-Key replayed an earlier answer.
    replayed: bool = False


def hold_seats(
    session: Session,
    request: HoldRequest,
    *,
    settings: BookingSettings,
    locker: SeatLocker,
    idempotency_key: str | None = None,
) -> Hold:
    """Hold the seats (all or none) in the caller's transaction; raises a DomainError if it cannot."""
    # Keys are the client's own: another client sending the same key (seen,
    # or guessed) makes a new request, and never receives this one's token.
    scope = request.visitor or ""
    if idempotency_key is not None:
        body = {"show_id": request.show_id, "seats": list(request.seats), "email": request.email}
        replay = idempotency.claim_key(
            session, scope, idempotency_key, idempotency.fingerprint(body), settings.idempotency_ttl_seconds
        )
        if replay is not None:
            return Hold(booking=replay.booking, token=replay.token, replayed=True)

    # Before any seat lock: a request turned away must not keep seats busy for others.
    gap_rule = _enforce_visitor_limit(session, request, settings.max_held_seats_per_visitor)

    try:
        lock = locker.acquire(request.show_id, request.seats)
    except SeatsLocked as exc:
        raise SeatsUnavailable(exc.labels) from None
    # Released once the caller's transaction ends, never before its commit.
    # Seats PostgreSQL showed taken stay marked so in Redis for a moment
    # (webapp/locks.py): the next requests for them are refused there.
    # After a commit the same call gives the seat map a new version.
    # Milliseconds each seat stays taken for sure, as of ``measured`` (monotonic):
    # the markers must not outlive a hold, or a lapsed seat would be refused.
    taken_ms: dict[str, int] = {}  # known taken whatever the outcome
    held_ms: dict[str, int] = {}  # taken only if this transaction commits
    measured = [0.0]

    def release(committed: bool) -> None:
        elapsed = int((time.monotonic() - measured[0]) * 1000) + 1
        marks = {**taken_ms, **held_ms} if committed else taken_ms
        marks = {label: ms - elapsed for label, ms in marks.items()}
        if locker.release(lock, marks, bump_version=committed and bool(held_ms)):
            mark_version_bumped(session, request.show_id)

    on_outcome(session, release)
    if gap_rule:
        # Locks the whole rows first (see gaps.py); shows without the rule skip this.
        gaps.lock_rows_and_check(session, request.show_id, request.seats)

    booking_id = uuid.uuid4()
    token = new_token()
    params = {
        "id": booking_id,
        "show_id": request.show_id,
        "labels": list(request.seats),
        "n": len(request.seats),
        "token_hash": hash_token(token),
        "email": request.email,
        "visitor": request.visitor,
        "client_address": request.client_address,
        "hold_seconds": settings.hold_seconds,
        "extensions": settings.max_hold_extensions,
    }
    if settings.prepared_statements:
        # Straight to the driver: no parameters, no result, and the ORM's
        # execute machinery costs more app CPU than the round trip itself.
        session.connection().exec_driver_sql(_GENERIC_PLAN)
    rows = session.execute(_LOCK_AND_HOLD, params).all()
    measured[0] = time.monotonic()
    if not _held(rows, request):
        taken_ms.update({row.label: row.held_ms for row in rows if row.requested and row.held_ms})
        # Some requested seat is held by a lapsed booking: expire it (its
        # seats are locked already) and try again under the same locks.
        expire_bookings(session, _lapsed_holders(session, rows, request))
        taken_ms.clear()  # no seat was taken after all: they were lapsed
        rows = session.execute(_LOCK_AND_HOLD, params).all()
        measured[0] = time.monotonic()
        if not _held(rows, request):  # impossible while we hold the row locks
            raise RuntimeError(f"could not hold {request.seats} under row locks")
    mark_seats_changed(session, request.show_id)
    held_ms.update(dict.fromkeys(request.seats, rows[0].remaining_ms))

    # The new booking as the statement wrote it; reading it back would cost a round trip.
    booking = booking_json(
        SimpleNamespace(
            id=booking_id,
            show_id=request.show_id,
            status=BookingStatus.PENDING.value,
            seats=[row.label for row in rows if row.requested],
            total=rows[0].total,
            currency=rows[0].currency,
            hold_expires_at=rows[0].hold_expires_at,
            created_at=rows[0].created_at,
            confirmed_at=None,
            cancelled_at=None,
            expired_at=None,
            extensions_left=settings.max_hold_extensions,
        )
    )
    if idempotency_key is not None:
        idempotency.record_answer(session, scope, idempotency_key, booking, token)
    return Hold(booking=booking, token=token)


# Planning the hold statement costs more PostgreSQL CPU than running it
# (about 0.4 ms of 0.9), and PostgreSQL keeps choosing a custom plan for it:
# the generic plan's estimate for ``label = ANY(:labels)`` assumes a long
# array. Every plan is the same four index probes in practice, so once
# psycopg has prepared the statement (its fifth run on a connection) it is
# run on its generic plan, planned once per connection. SET LOCAL ends with
# the transaction, so nothing leaks to other statements or, behind
# PgBouncer, to other clients; without prepared statements it would change
# nothing, and is not sent.
_GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan"

# The whole hold in one round trip. ``locked`` takes the row locks in id
# order: the requested seats plus every seat of a lapsed booking holding one
# of them (expiring that booking frees all its seats, so they must be locked
# in the same ordered sweep). The seats to lock are found by index probes
# only: the requested labels on (show_id, label), and the seats of lapsed
# holders on booking_id, joined by a UNION (an ``OR`` of the two would scan
# every seat of the show, and cost most of the statement). Only if every
# requested seat exists and is AVAILABLE, and a companion seat comes with a
# wheelchair space, are the booking, the seat updates and the permanent
# record written; otherwise nothing is, and the rows tell the caller why.
# The booking's total is the sum of the prices copied onto the seat rows
# just locked, so it is exactly what was held, without another query.
# ``held_ms`` (a taken seat) and ``remaining_ms`` (the new hold) say how much
# longer a seat stays taken for sure, by the clock at execution, not the
# transaction's start (the Redis seat locks remember taken seats that long
# at most, webapp/locks.py).
#
# ``scheduled`` reads the show row FOR KEY SHARE, and only while it is
# SCHEDULED; every seat lock depends on it through the join. A show cancel
# takes the row FOR UPDATE, which conflicts with KEY SHARE: a hold in flight
# finishes (and is then cancelled with the rest), and a later one waits for
# the cancel, re-reads the row (READ COMMITTED) and finds it CANCELLED, so it
# locks no seat and writes nothing. No hold can survive a cancel.
_LOCK_AND_HOLD = text(
    """
    WITH scheduled AS MATERIALIZED (
        SELECT id, starts_at, currency FROM shows
        WHERE id = :show_id AND status = 'SCHEDULED'
        FOR KEY SHARE
    ), wanted AS (
        SELECT w.id, w.booking_id, w.status = 'HELD' AND w.hold_expires_at <= now() AS lapsed
        FROM seats w
        WHERE w.show_id = :show_id AND w.label = ANY(:labels)
    ), targets AS (
        SELECT id FROM wanted
        UNION
        SELECT o.id FROM seats o
        WHERE o.booking_id IN (SELECT booking_id FROM wanted WHERE lapsed)
    ), locked AS (
        SELECT s.id, s.label, s.status, s.booking_id, s.kind, s.price, sh.currency,
               s.label = ANY(:labels) AS requested,
               s.status = 'HELD' AND s.hold_expires_at <= now() AS lapsed,
               sh.starts_at <= now() AS started,
               CASE s.status
                   WHEN 'BOOKED' THEN 2147483647
                   WHEN 'HELD' THEN greatest(0, (extract(epoch FROM s.hold_expires_at - clock_timestamp())
                                                 * 1000)::bigint)
               END AS held_ms
        FROM seats s JOIN scheduled sh ON sh.id = s.show_id
        WHERE s.id IN (SELECT id FROM targets) AND s.show_id = :show_id
        ORDER BY s.id
        FOR UPDATE OF s
    ), requested AS (
        SELECT count(*) FILTER (WHERE requested) = :n
               AND bool_and(status = 'AVAILABLE' OR NOT requested)
               AND NOT bool_or(started) AS free,
               coalesce(bool_or(requested AND kind = 'companion')
                        AND NOT bool_or(requested AND kind = 'wheelchair'), false) AS companion_alone,
               sum(price) FILTER (WHERE requested) AS total,
               max(currency) AS currency
        FROM locked
    ), verdict AS (
        SELECT free AND NOT companion_alone AS all_free, companion_alone,
               total, CASE WHEN total IS NOT NULL THEN currency END AS currency
        FROM requested
    ), booking AS (
        INSERT INTO bookings (id, show_id, status, token_hash, email, visitor, client_address,
                              hold_expires_at, total, currency, extensions_left)
        SELECT :id, :show_id, 'PENDING', :token_hash, :email, :visitor, :client_address,
               now() + make_interval(secs => :hold_seconds), total, currency, :extensions
        FROM verdict WHERE all_free
        RETURNING hold_expires_at, created_at, total, currency
    ), held AS (
        UPDATE seats SET status = 'HELD', booking_id = :id, hold_expires_at = booking.hold_expires_at
        FROM booking
        WHERE seats.id IN (SELECT id FROM locked WHERE requested)
        RETURNING seats.id, seats.label
    ), recorded AS (
        INSERT INTO booking_seats (booking_id, seat_id, label, booking_status)
        SELECT :id, id, label, 'PENDING' FROM held
        RETURNING seat_id
    )
    SELECT l.id, l.label, l.status, l.booking_id, l.requested, l.lapsed, l.started, l.held_ms,
           v.companion_alone, b.hold_expires_at, b.created_at, b.total, b.currency,
           (extract(epoch FROM b.hold_expires_at - clock_timestamp()) * 1000)::bigint AS remaining_ms,
           (SELECT count(*) FROM recorded) AS held_count
    FROM locked l CROSS JOIN verdict v LEFT JOIN booking b ON true
    ORDER BY l.id
    """
)


def _held(rows: Sequence[Any], request: HoldRequest) -> bool:
    return bool(rows) and rows[0].held_count == len(request.seats)


def _lapsed_holders(session: Session, rows: Sequence[Any], request: HoldRequest) -> list[uuid.UUID]:
    """Why a hold did not go through: raise the error, or return the lapsed bookings in the way."""
    if not rows:  # no such show, or it is cancelled (the statement locks no seat then)
        require_scheduled_show(session, request.show_id)
    if rows and rows[0].started:
        raise ShowStarted(f"Show {request.show_id} has started; seats can no longer be held.")
    requested = {row.label: row for row in rows if row.requested}
    missing = [label for label in request.seats if label not in requested]
    if missing:
        raise ValidationFailed({"seats": f"no such seat in this show: {', '.join(missing)}"})
    if rows[0].companion_alone:
        raise CompanionWithoutWheelchair(
            "A companion seat is for the companion of a wheelchair user: "
            "hold it together with a wheelchair space."
        )
    taken = [
        label
        for label in request.seats
        if requested[label].status != "AVAILABLE" and not requested[label].lapsed
    ]
    if taken:
        raise SeatsUnavailable(taken)
    return sorted({row.booking_id for row in requested.values() if row.lapsed})


def _enforce_visitor_limit(session: Session, request: HoldRequest, limit: int) -> bool:
    """At most ``limit`` seats held at once by this visitor, and by this client address.

    Web holds count per session and per address, so a client that drops its
    cookie is still the same client; API holds are per address already.
    Returns the show's single-seat-gap flag, read in the same query so that
    shows without the rule pay no extra round trip for it.
    """
    if not limit or (request.visitor is None and request.client_address is None):
        return gaps.show_has_gap_rule(session, request.show_id)
    # Serialises the holds of one visitor and of one address (in a fixed
    # order: no deadlock), so parallel requests cannot both squeeze under the
    # limit; other clients are unaffected.
    for key in sorted(
        key
        for key in (request.visitor, request.client_address and f"address:{request.client_address}")
        if key
    ):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
    held, gap_rule = session.execute(
        text(
            """
            SELECT (SELECT greatest(count(*) FILTER (WHERE b.visitor = :visitor),
                                    count(*) FILTER (WHERE b.client_address = :address))
                    FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id
                    WHERE b.status = 'PENDING' AND b.hold_expires_at > now()
                      AND (b.visitor = :visitor OR b.client_address = :address)) AS held,
                   coalesce((SELECT no_single_seat_gaps FROM shows WHERE id = :show_id), false)
            """
        ),
        {"visitor": request.visitor, "address": request.client_address, "show_id": request.show_id},
    ).one()
    if held + len(request.seats) > limit:
        raise TooManyHolds(
            f"You already hold {held} seat(s); at most {limit} may be held at once. "
            "Confirm or cancel a hold first.",
            limit=limit,
            held=held,
        )
    return bool(gap_rule)
