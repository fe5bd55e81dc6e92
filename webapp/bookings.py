"""The booking service: every change to seats and bookings goes through here.

Views, RQ jobs and CLI commands call these functions with a session; the
caller owns the transaction and commits it. Nothing here commits.

Rules every function keeps, so concurrent transactions cannot deadlock:
seat rows are locked before booking rows, and seat rows always in id order.

Lazy expiry: a PENDING booking whose hold has passed (by database time) is
EXPIRED to every reader and every writer, whether or not the expiry job has
written it yet.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import text
from sqlalchemy.orm import Session

from . import errors, outbox
from .auditoriums import resolve_show_plan
from .events import mark_seats_changed, on_transaction_end
from .jsonutil import dumps
from .locks import SeatsLocked
from .models import BookingStatus, Show
from .money import DEFAULT_CURRENCY
from .seatplan import KINDS

LABEL_PATTERN = re.compile(r"^([A-Z])([1-9][0-9]?)$")

# --- reading -----------------------------------------------------------------

_SEAT_STATUS_SQL = """
    CASE WHEN s.status = 'HELD' AND s.hold_expires_at <= now() THEN 'AVAILABLE'
         ELSE s.status END"""

_STATS_SQL = f"""
    SELECT count(*) AS total,
           count(*) FILTER (WHERE {_SEAT_STATUS_SQL} = 'AVAILABLE') AS available,
           count(*) FILTER (WHERE {_SEAT_STATUS_SQL} = 'HELD') AS held,
           count(*) FILTER (WHERE s.status = 'BOOKED') AS booked
    FROM seats s"""

_SHOW_COLUMNS = (
    "sh.id, sh.title, sh.starts_at, sh.auditorium, sh.rows, sh.seats_per_row, "
    "sh.layout, sh.prices, sh.currency"
)


def _show_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "starts_at": row.starts_at,
        "auditorium": row.auditorium,
        "rows": row.rows,
        "seats_per_row": row.seats_per_row,
        "layout": list(row.layout),
        # In the order of the kinds (PostgreSQL's jsonb keeps keys in its own order).
        "prices": None if row.prices is None else {k: row.prices[k] for k in KINDS if k in row.prices},
        "currency": row.currency,
        "stats": {
            "total": row.total,
            "available": row.available,
            "held": row.held,
            "booked": row.booked,
        },
    }


def list_upcoming_shows(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            f"""
            SELECT {_SHOW_COLUMNS}, st.*
            FROM shows sh
            CROSS JOIN LATERAL ({_STATS_SQL} WHERE s.show_id = sh.id) st
            WHERE sh.starts_at > now()
            ORDER BY sh.starts_at, sh.id
            """
        )
    )
    return [_show_json(row) for row in rows]


def get_show(session: Session, show_id: int) -> dict[str, Any]:
    row = session.execute(
        text(
            f"""
            SELECT {_SHOW_COLUMNS}, st.*
            FROM shows sh
            CROSS JOIN LATERAL ({_STATS_SQL} WHERE s.show_id = sh.id) st
            WHERE sh.id = :show_id
            """
        ),
        {"show_id": show_id},
    ).one_or_none()
    if row is None:
        raise errors.ShowNotFound(f"There is no show {show_id}.")
    return _show_json(row)


def seat_stats(session: Session, show_id: int) -> dict[str, int]:
    return get_show(session, show_id)["stats"]


def list_seats(session: Session, show_id: int) -> list[dict[str, Any]]:
    """Seats in row-major order, with lapsed holds shown as AVAILABLE."""
    rows = session.execute(
        text(
            f"""
            SELECT s.label, s.row, s.number, s.col, s.kind, s.price, {_SEAT_STATUS_SQL} AS status,
                   CASE WHEN s.status = 'HELD' AND s.hold_expires_at > now()
                        THEN s.hold_expires_at END AS hold_expires_at
            FROM seats s WHERE s.show_id = :show_id
            ORDER BY s.row, s.number
            """
        ),
        {"show_id": show_id},
    ).all()
    if not rows:
        _require_show(session, show_id)
    return [
        {
            "seat": r.label,
            "row": r.row,
            "number": r.number,
            "column": r.col,
            "kind": r.kind,
            "price": r.price,
            "status": r.status,
            "hold_expires_at": r.hold_expires_at,
        }
        for r in rows
    ]


def database_now(session: Session) -> datetime:
    """The database's clock. Holds lapse and shows start by it, so anything
    that compares with ``hold_expires_at`` or ``starts_at`` must use it too:
    this server's own clock may be off (fault suite, tests/faults/test_clock_skew.py)."""
    return session.execute(text("SELECT statement_timestamp()")).scalar_one()


def _require_show(session: Session, show_id: int) -> None:
    found = session.execute(text("SELECT 1 FROM shows WHERE id = :id"), {"id": show_id}).first()
    if found is None:
        raise errors.ShowNotFound(f"There is no show {show_id}.")


_BOOKING_SELECT = """
    SELECT b.id, b.show_id, b.token_hash,
           CASE WHEN b.status = 'PENDING' AND b.hold_expires_at <= now()
                THEN 'EXPIRED' ELSE b.status END AS status,
           b.hold_expires_at, b.created_at, b.confirmed_at, b.cancelled_at,
           CASE WHEN b.status = 'PENDING' AND b.hold_expires_at <= now()
                THEN b.hold_expires_at ELSE b.expired_at END AS expired_at,
           b.email, b.visitor, b.total, b.currency,
           ARRAY(SELECT bs.label FROM booking_seats bs
                 WHERE bs.booking_id = b.id ORDER BY bs.seat_id) AS seats
    FROM bookings b"""


def booking_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "show_id": row.show_id,
        "status": row.status,
        "seats": list(row.seats),
        "total": row.total,
        "currency": row.currency,
        "hold_expires_at": row.hold_expires_at,
        "created_at": row.created_at,
        "confirmed_at": row.confirmed_at,
        "cancelled_at": row.cancelled_at,
        "expired_at": row.expired_at,
    }


def _load_booking(session: Session, booking_id: uuid.UUID) -> Any:
    row = session.execute(text(_BOOKING_SELECT + " WHERE b.id = :id"), {"id": booking_id}).one_or_none()
    if row is None:
        raise errors.BookingNotFound(f"There is no booking {booking_id}.")
    return row


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_token(row: Any, token: str | None) -> None:
    if not token:
        raise errors.AuthenticationRequired("Send the booking token as 'Authorization: Bearer <token>'.")
    if not hmac.compare_digest(row.token_hash, hash_token(token)):
        raise errors.Forbidden("That token does not belong to this booking.")


def authorize_booking(session: Session, booking_id: uuid.UUID, token: str | None) -> dict[str, Any]:
    """The booking, if ``token`` is its token (compared in constant time)."""
    if not token:
        _check_token(None, token)
    row = _load_booking(session, booking_id)
    _check_token(row, token)
    return booking_json(row)


def get_booking(session: Session, booking_id: uuid.UUID) -> dict[str, Any]:
    """The booking, for callers that authorised the reader some other way."""
    return booking_json(_load_booking(session, booking_id))


def list_show_bookings(session: Session, show_id: int, status: str | None = None) -> list[dict[str, Any]]:
    _require_show(session, show_id)
    sql = f"SELECT * FROM ({_BOOKING_SELECT} WHERE b.show_id = :show_id) x"
    if status is not None:
        sql += " WHERE x.status = :status"
    rows = session.execute(text(sql + " ORDER BY x.created_at, x.id"), {"show_id": show_id, "status": status})
    return [booking_json(row) for row in rows]


# --- creating shows ------------------------------------------------------------


def create_show(
    session: Session,
    *,
    title: str,
    starts_at: datetime,
    rows: int | None = None,
    seats_per_row: int | None = None,
    auditorium: str | None = None,
    layout: list[str] | None = None,
    auditorium_id: int | None = None,
    prices: dict[str, int] | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """Create a show and its seats from a rectangle, its own layout, or an
    auditorium's (copied onto the show). Each seat gets a copy of its kind's
    price, so a hold sums its total from the very rows it locks."""
    if prices is not None and currency is None:
        currency = DEFAULT_CURRENCY  # documented in the OpenAPI description of POST /api/shows
    show_plan = resolve_show_plan(
        session,
        rows=rows,
        seats_per_row=seats_per_row,
        layout=layout,
        auditorium_id=auditorium_id,
        prices=prices,
    )
    plan = show_plan.plan
    show = Show(
        title=title,
        starts_at=starts_at,
        auditorium=auditorium if auditorium is not None else show_plan.auditorium_name,
        rows=plan.rows,
        seats_per_row=plan.seats_per_row,
        layout=list(plan.layout),
        prices=prices,
        currency=currency,
        auditorium_id=show_plan.auditorium_id,
    )
    session.add(show)
    session.flush()
    session.execute(
        text(
            """
            INSERT INTO seats (show_id, row, number, col, kind, price)
            SELECT :show_id, p.row, p.number, p.col, p.kind, p.price
            FROM unnest(CAST(:rows AS text[]), CAST(:numbers AS smallint[]), CAST(:cols AS smallint[]),
                        CAST(:kinds AS text[]), CAST(:prices AS integer[]))
                 AS p(row, number, col, kind, price)
            ORDER BY p.row, p.number
            """
        ),
        {
            "show_id": show.id,
            "rows": [seat.row for seat in plan.seats],
            "numbers": [seat.number for seat in plan.seats],
            "cols": [seat.column for seat in plan.seats],
            "kinds": [seat.kind.value for seat in plan.seats],
            "prices": [None if prices is None else prices[seat.kind.value] for seat in plan.seats],
        },
    )
    mark_seats_changed(session, show.id)
    return get_show(session, show.id)


# --- holding -------------------------------------------------------------------


@dataclass(frozen=True)
class HoldRequest:
    show_id: int
    seats: tuple[str, ...]
    email: str | None = None
    #: "session:<id>" or "ip:<address>": whose holds count towards the per-visitor limit.
    visitor: str | None = None


@dataclass(frozen=True)
class Hold:
    booking: dict[str, Any]
    token: str
    #: True when an Idempotency-Key replayed an earlier answer.
    replayed: bool = False


def hold_seats(session: Session, request: HoldRequest, idempotency_key: str | None = None) -> Hold:
    """Hold every requested seat for HOLD_SECONDS, or none of them.

    Order matters: the idempotency claim comes first (a duplicate waits for
    the original and replays it), then the Redis locks (a request racing for
    the same seats is turned away early), then the row locks, which decide.
    """
    if idempotency_key is not None:
        replay = _claim_idempotency_key(session, idempotency_key, _request_fingerprint(request))
        if replay is not None:
            return replay

    locker = current_app.extensions["seat_locker"]
    try:
        lock = locker.acquire(request.show_id, request.seats)
    except SeatsLocked as exc:
        raise errors.SeatsUnavailable(exc.labels) from None
    # Released once the caller's transaction ends, never before its commit.
    on_transaction_end(session, lambda: locker.release(lock))

    _enforce_visitor_limit(session, request)
    booking_id = uuid.uuid4()
    token = secrets.token_urlsafe(32)
    params = {
        "id": booking_id,
        "show_id": request.show_id,
        "labels": list(request.seats),
        "n": len(request.seats),
        "token_hash": hash_token(token),
        "email": request.email,
        "visitor": request.visitor,
        "hold_seconds": current_app.config["HOLD_SECONDS"],
    }
    rows = session.execute(_LOCK_AND_HOLD, params).all()
    if not _held(rows, request):
        # Some requested seat is held by a lapsed booking: expire it (its
        # seats are locked already) and try again under the same locks.
        _expire_bookings(session, _lapsed_holders(session, rows, request))
        rows = session.execute(_LOCK_AND_HOLD, params).all()
        if not _held(rows, request):  # impossible while we hold the row locks
            raise RuntimeError(f"could not hold {request.seats} under row locks")
    mark_seats_changed(session, request.show_id)

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
        )
    )
    hold = Hold(booking=booking, token=token)
    if idempotency_key is not None:
        _record_idempotent_response(session, idempotency_key, hold)
    return hold


# The whole hold in one round trip. ``locked`` takes the row locks in id
# order: the requested seats plus every seat of a lapsed booking holding one
# of them (expiring that booking frees all its seats, so they must be locked
# in the same ordered sweep). Only if every requested seat exists and is
# AVAILABLE, and a companion seat comes with a wheelchair space, are the
# booking, the seat updates and the permanent record written; otherwise
# nothing is, and the rows tell the caller why. The booking's total is the
# sum of the prices copied onto the seat rows just locked, so it is exactly
# what was held, without another query.
_LOCK_AND_HOLD = text(
    """
    WITH locked AS (
        SELECT s.id, s.label, s.status, s.booking_id, s.kind, s.price, sh.currency,
               s.label = ANY(:labels) AS requested,
               s.status = 'HELD' AND s.hold_expires_at <= now() AS lapsed,
               sh.starts_at <= now() AS started
        FROM seats s JOIN shows sh ON sh.id = s.show_id
        WHERE s.show_id = :show_id
          AND (s.label = ANY(:labels)
               OR s.booking_id IN (SELECT l.booking_id FROM seats l
                                   WHERE l.show_id = :show_id AND l.label = ANY(:labels)
                                     AND l.status = 'HELD' AND l.hold_expires_at <= now()))
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
        INSERT INTO bookings (id, show_id, status, token_hash, email, visitor, hold_expires_at,
                              total, currency)
        SELECT :id, :show_id, 'PENDING', :token_hash, :email, :visitor,
               now() + make_interval(secs => :hold_seconds), total, currency
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
    SELECT l.id, l.label, l.status, l.booking_id, l.requested, l.lapsed, l.started,
           v.companion_alone, b.hold_expires_at, b.created_at, b.total, b.currency,
           (SELECT count(*) FROM recorded) AS held_count
    FROM locked l CROSS JOIN verdict v LEFT JOIN booking b ON true
    ORDER BY l.id
    """
)


def _held(rows: Sequence[Any], request: HoldRequest) -> bool:
    return bool(rows) and rows[0].held_count == len(request.seats)


def _lapsed_holders(session: Session, rows: Sequence[Any], request: HoldRequest) -> list[uuid.UUID]:
    """Why a hold did not go through: raise the error, or return the lapsed bookings in the way."""
    if not rows:
        _require_show(session, request.show_id)
    if rows and rows[0].started:
        raise errors.ShowStarted(f"Show {request.show_id} has started; seats can no longer be held.")
    requested = {row.label: row for row in rows if row.requested}
    missing = [label for label in request.seats if label not in requested]
    if missing:
        raise errors.ValidationFailed({"seats": f"no such seat in this show: {', '.join(missing)}"})
    if rows[0].companion_alone:
        raise errors.CompanionWithoutWheelchair(
            "A companion seat is for the companion of a wheelchair user: "
            "hold it together with a wheelchair space."
        )
    taken = [
        label
        for label in request.seats
        if requested[label].status != "AVAILABLE" and not requested[label].lapsed
    ]
    if taken:
        raise errors.SeatsUnavailable(taken)
    return sorted({row.booking_id for row in requested.values() if row.lapsed})


def _enforce_visitor_limit(session: Session, request: HoldRequest) -> None:
    limit = current_app.config["MAX_HELD_SEATS_PER_VISITOR"]
    if not limit or request.visitor is None:
        return
    # Serialises one visitor's holds so two parallel requests cannot both
    # squeeze under the limit; other visitors are unaffected.
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:visitor, 0))"),
        {"visitor": request.visitor},
    )
    held = session.execute(
        text(
            """
            SELECT count(*) FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id
            WHERE b.visitor = :visitor AND b.status = 'PENDING' AND b.hold_expires_at > now()
            """
        ),
        {"visitor": request.visitor},
    ).scalar_one()
    if held + len(request.seats) > limit:
        raise errors.TooManyHolds(
            f"You already hold {held} seat(s); at most {limit} may be held at once. "
            "Confirm or cancel a hold first.",
            limit=limit,
            held=held,
        )


def _expire_bookings(session: Session, booking_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Mark lapsed PENDING bookings EXPIRED and free their seats.

    The caller must already hold the row locks on those bookings' seats.
    Returns the ids actually expired (others were already settled).
    """
    rows = session.execute(
        text(
            """
            WITH expired AS (
                UPDATE bookings SET status = 'EXPIRED', expired_at = statement_timestamp()
                WHERE id = ANY(:ids) AND status = 'PENDING'
                  AND hold_expires_at <= statement_timestamp()
                RETURNING id, show_id
            ), freed AS (
                UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, hold_expires_at = NULL
                WHERE booking_id = ANY(:ids) AND booking_id IN (SELECT id FROM expired)
                RETURNING id
            )
            SELECT id, show_id, (SELECT count(*) FROM freed) AS freed FROM expired
            """
        ),
        {"ids": list(booking_ids)},
    ).all()
    for show_id in {row.show_id for row in rows}:
        mark_seats_changed(session, show_id)
    return [row.id for row in rows]


# --- confirming and cancelling -------------------------------------------------


def _lock_booking(session: Session, booking_id: uuid.UUID, token: str | None) -> Any:
    """Authorise, then lock the booking's seats (in id order) and the booking row.

    Lapse and the confirmed_at / cancelled_at / expired_at stamps use
    statement_timestamp(), not now(): now() is when the transaction began,
    before it waited for these locks, so a confirm queued behind another
    request would accept a hold that lapsed meanwhile (readers already saw it
    EXPIRED) and a cancel queued behind a confirm would be stamped before it.
    """
    authorize_booking(session, booking_id, token)
    session.execute(
        text("SELECT id FROM seats WHERE booking_id = :id ORDER BY id FOR UPDATE"),
        {"id": booking_id},
    )
    return session.execute(
        text(
            """
            SELECT id, show_id, status, hold_expires_at <= statement_timestamp() AS lapsed
            FROM bookings WHERE id = :id FOR UPDATE
            """
        ),
        {"id": booking_id},
    ).one()


def confirm_booking(session: Session, booking_id: uuid.UUID, token: str | None) -> dict[str, Any]:
    """PENDING -> CONFIRMED. A repeat is a no-op, so retries and races are safe.

    A lapsed hold is expired here and now (``HoldExpired`` is raised after the
    change is made; the caller should commit before reporting it).
    """
    booking = _lock_booking(session, booking_id, token)
    if booking.status == BookingStatus.CANCELLED:
        raise errors.BookingCancelled("This booking was cancelled; hold the seats again.")
    if booking.status == BookingStatus.EXPIRED:
        raise errors.HoldExpired("The hold lapsed before it was confirmed; the seats were released.")
    if booking.status == BookingStatus.PENDING:
        if booking.lapsed:
            _expire_bookings(session, [booking_id])
            raise errors.HoldExpired("The hold lapsed before it was confirmed; the seats were released.")
        session.execute(
            text(
                """
                WITH confirmed AS (
                    UPDATE bookings SET status = 'CONFIRMED', confirmed_at = statement_timestamp()
                    WHERE id = :id RETURNING id
                )
                UPDATE seats SET status = 'BOOKED', hold_expires_at = NULL
                WHERE booking_id = (SELECT id FROM confirmed)
                """
            ),
            {"id": booking_id},
        )
        mark_seats_changed(session, booking.show_id)
        # Same transaction as the confirm: the message is owed exactly when the confirm commits.
        outbox.enqueue_confirmation(session, booking_id)
    return get_booking(session, booking_id)


def cancel_booking(session: Session, booking_id: uuid.UUID, token: str | None) -> dict[str, Any]:
    """PENDING or CONFIRMED -> CANCELLED, releasing the seats at once. Repeats are no-ops."""
    booking = _lock_booking(session, booking_id, token)
    if booking.status == BookingStatus.EXPIRED or (
        booking.status == BookingStatus.PENDING and booking.lapsed
    ):
        if booking.status == BookingStatus.PENDING:
            _expire_bookings(session, [booking_id])
        raise errors.HoldExpired("The hold had already lapsed; there is nothing to cancel.")
    if booking.status != BookingStatus.CANCELLED:
        session.execute(
            text(
                """
                WITH cancelled AS (
                    UPDATE bookings SET status = 'CANCELLED', cancelled_at = statement_timestamp()
                    WHERE id = :id RETURNING id
                )
                UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, hold_expires_at = NULL
                WHERE booking_id = (SELECT id FROM cancelled)
                """
            ),
            {"id": booking_id},
        )
        mark_seats_changed(session, booking.show_id)
        if booking.status == BookingStatus.CONFIRMED:
            outbox.withdraw_confirmation(session, booking_id)
    return get_booking(session, booking_id)


# --- expiry --------------------------------------------------------------------


def expire_overdue_holds(session: Session, batch_size: int = 1000) -> int:
    """Expire one batch of lapsed holds; returns how many bookings it expired.

    Everything is locked with SKIP LOCKED: several workers take disjoint
    batches of the backlog, and a hold, confirm or cancel in flight is never
    waited on (that request settles the booking itself). Because this never
    waits, taking the booking row before its seats cannot deadlock with the
    seats-then-booking order of the request paths. A booking is expired only
    when all of its seats were locked here.
    """
    due = """
        WITH due AS (
            SELECT id FROM bookings
            WHERE status = 'PENDING' AND hold_expires_at <= now()
            ORDER BY hold_expires_at
            LIMIT :batch
            FOR UPDATE SKIP LOCKED
        ), held AS (
            -- Index lookups whatever the statistics say: right after a bulk
            -- of holds the planner would otherwise hash-join a scan of seats.
            -- OFFSET 0 keeps the LATERAL subquery a per-booking index probe.
            SELECT s.id, s.booking_id FROM due
            CROSS JOIN LATERAL (SELECT id, booking_id FROM seats WHERE booking_id = due.id OFFSET 0) s
        ), locked AS (
            SELECT id FROM seats
            WHERE id = ANY(ARRAY(SELECT id FROM held))
              AND booking_id = ANY(ARRAY(SELECT id FROM due))
            ORDER BY id
            FOR UPDATE SKIP LOCKED
        )
        SELECT d.id FROM due d
        WHERE NOT EXISTS (
            SELECT 1 FROM held h
            WHERE h.booking_id = d.id AND h.id NOT IN (SELECT id FROM locked)
        )
    """
    booking_ids = session.execute(text(due), {"batch": batch_size}).scalars().all()
    if not booking_ids:
        return 0
    return len(_expire_bookings(session, booking_ids))


# --- idempotency ---------------------------------------------------------------


def _request_fingerprint(request: HoldRequest) -> bytes:
    body = {"show_id": request.show_id, "seats": list(request.seats), "email": request.email}
    return hashlib.sha256(dumps(body)).digest()


def _key_hash(key: str) -> bytes:
    return hashlib.sha256(b"idempotency-key:" + key.encode()).digest()


def _token_pad(key: str, length: int) -> bytes:
    """A one-time pad of ``length`` bytes derived from the raw key (HMAC in counter mode).

    Only the key's holder can unmask the token, and no part of the pad repeats.
    """
    blocks = (
        hmac.new(key.encode(), b"marquee booking token %d" % i, hashlib.sha256).digest()
        for i in range(length // 32 + 1)
    )
    return b"".join(blocks)[:length]


def _xor_pad(data: bytes, key: str) -> bytes:
    """Mask or unmask (XOR is its own inverse) a token with the key's pad."""
    return bytes(a ^ b for a, b in zip(data, _token_pad(key, len(data)), strict=True))


def _claim_idempotency_key(session: Session, key: str, fingerprint: bytes) -> Hold | None:
    """Claim ``key`` for this request, or return the answer already given for it.

    A concurrent request with the same key blocks on the unique index until
    the first commits, then replays its answer. A claim older than the TTL is
    taken over.
    """
    claimed = session.execute(
        text(
            """
            INSERT INTO idempotency_keys (key_hash, request_hash)
            VALUES (:key_hash, :request_hash)
            ON CONFLICT (key_hash) DO UPDATE
                SET request_hash = EXCLUDED.request_hash, booking_id = NULL,
                    masked_token = NULL, response = NULL, created_at = now()
                WHERE idempotency_keys.created_at <= now() - make_interval(secs => :ttl)
            RETURNING key_hash
            """
        ),
        {
            "key_hash": _key_hash(key),
            "request_hash": fingerprint,
            "ttl": current_app.config["IDEMPOTENCY_TTL_SECONDS"],
        },
    ).first()
    if claimed is not None:
        return None
    stored = session.execute(
        text("SELECT request_hash, masked_token, response FROM idempotency_keys WHERE key_hash = :k"),
        {"k": _key_hash(key)},
    ).one()
    if stored.request_hash != fingerprint:
        raise errors.IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body."
        )
    token = _xor_pad(stored.masked_token, key).decode()
    return Hold(booking=stored.response, token=token, replayed=True)


def _record_idempotent_response(session: Session, key: str, hold: Hold) -> None:
    session.execute(
        text(
            """
            UPDATE idempotency_keys
            SET booking_id = :booking_id, masked_token = :masked, response = CAST(:response AS jsonb)
            WHERE key_hash = :key_hash
            """
        ),
        {
            "key_hash": _key_hash(key),
            "booking_id": uuid.UUID(hold.booking["id"]),
            "masked": _xor_pad(hold.token.encode(), key),
            "response": dumps(hold.booking).decode(),
        },
    )


# --- housekeeping (run by the cleanup_orphans job) -----------------------------


def cleanup_orphan_bookings(session: Session, min_age_seconds: int, batch_size: int = 1000) -> int:
    """Delete one batch of PENDING bookings that never had a seat; returns how many.

    A booking is an orphan only if no seat was ever recorded for it in
    ``booking_seats`` (the permanent record), no seat points at it and no
    message is owed for it. Booking history is never deleted: the foreign key
    from ``booking_seats`` would refuse it even if this query were wrong.
    The age guard leaves alone a booking whose transaction is still at work.
    """
    return len(
        session.execute(
            text(
                """
                DELETE FROM bookings WHERE id IN (
                    SELECT b.id FROM bookings b
                    WHERE b.status = 'PENDING'
                      AND b.created_at <= now() - make_interval(secs => :min_age)
                      AND NOT EXISTS (SELECT 1 FROM booking_seats bs WHERE bs.booking_id = b.id)
                      AND NOT EXISTS (SELECT 1 FROM seats s WHERE s.booking_id = b.id)
                      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.booking_id = b.id)
                    ORDER BY b.created_at
                    LIMIT :batch
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING id
                """
            ),
            {"min_age": min_age_seconds, "batch": batch_size},
        ).all()
    )


def purge_idempotency_keys(session: Session, batch_size: int = 1000) -> int:
    """Delete one batch of Idempotency-Key records past IDEMPOTENCY_TTL_SECONDS; returns how many.

    Expired records are already ignored by ``hold_seats``; this only keeps the table small.
    """
    return len(
        session.execute(
            text(
                """
                DELETE FROM idempotency_keys WHERE key_hash IN (
                    SELECT key_hash FROM idempotency_keys
                    WHERE created_at <= now() - make_interval(secs => :ttl)
                    ORDER BY created_at
                    LIMIT :batch
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING key_hash
                """
            ),
            {"ttl": current_app.config["IDEMPOTENCY_TTL_SECONDS"], "batch": batch_size},
        ).all()
    )
