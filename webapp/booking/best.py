"""Best available: hold ``quantity`` adjacent seats chosen for the client.

One read of the show's seats (lazy expiry: a lapsed hold is a free seat),
the choice in Python (webapp/seatchoice.py, pure), then the normal hold path
(holds.hold_seats: Redis locks, row locks, all or nothing, the gap rule). A
choice can lose a race to another hold between the read and the hold; then
the seats are read again and a block chosen again, at most ``ATTEMPTS``
times. Each attempt runs in a savepoint, so a lost attempt gives back its row
locks and its Redis locks at once and leaves nothing behind; the seats it
lost are left out of later choices, and retries pick among the few best
blocks at random, so simultaneous requests spread instead of colliding again.

409 ``no_adjacent_seats`` means no block exists at all; 409
``seats_unavailable`` (rare) that blocks exist but every attempt lost.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..locks import SeatLocker
from ..seatchoice import DEFAULT_KINDS, Block, RowSeats, pick, rank_rows
from . import idempotency
from .errors import NoAdjacentSeats, SeatsUnavailable, ShowNotFound, ShowStarted, SingleSeatGap
from .holds import Hold, HoldRequest, hold_seats
from .settings import BookingSettings

#: How many times a choice is made and tried before giving up.
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class BestRequest:
    show_id: int
    quantity: int
    #: One kind of seat; None: standard or premium, mixed if need be.
    kind: str | None = None
    email: str | None = None
    visitor: str | None = None
    client_address: str | None = None


# The free seats only (lazy expiry: a lapsed hold's are free), one row per
# seat row with arrays: taken seats play no part in the choice, and a few
# rows of arrays cost far less to read than 1,300 rows of seats.
_FREE_SEATS = """
    SELECT row, array_agg(col ORDER BY col) AS cols, array_agg(label ORDER BY col) AS labels,
           array_agg(kind ORDER BY col) AS kinds
    FROM seats
    WHERE show_id = :show_id
      AND (status = 'AVAILABLE' OR (status = 'HELD' AND hold_expires_at <= now()))
    GROUP BY row
"""
#: The show and its free seats in one round trip, for the first choice.
_SHOW_AND_FREE_SEATS = text(
    f"""
    SELECT sh.layout, sh.no_single_seat_gaps, sh.starts_at <= now() AS started, f.*
    FROM shows sh LEFT JOIN LATERAL ({_FREE_SEATS}) f ON true
    WHERE sh.id = :show_id
    """
)
_ONLY_FREE_SEATS = text(_FREE_SEATS)


def hold_best(
    session: Session,
    request: BestRequest,
    *,
    settings: BookingSettings,
    locker: SeatLocker,
    idempotency_key: str | None = None,
    rng: random.Random | None = None,
) -> Hold:
    """Hold the best block of ``quantity`` adjacent seats in the caller's transaction."""
    scope = request.visitor or ""
    if idempotency_key is not None:
        body = {
            "show_id": request.show_id,
            "quantity": request.quantity,
            "kind": request.kind,
            "email": request.email,
        }
        replay = idempotency.claim_key(
            session, scope, idempotency_key, idempotency.fingerprint(body), settings.idempotency_ttl_seconds
        )
        if replay is not None:
            return Hold(booking=replay.booking, token=replay.token, replayed=True)

    found = session.execute(_SHOW_AND_FREE_SEATS, {"show_id": request.show_id}).all()
    if not found:
        raise ShowNotFound(f"There is no show {request.show_id}.")
    show = found[0]
    if show.started:
        raise ShowStarted(f"Show {request.show_id} has started; seats can no longer be held.")
    widths = {chr(ord("A") + i): len(row) for i, row in enumerate(show.layout)}
    free = _free_rows(found, widths)
    rng = rng or random.Random()
    lost: set[str] = set()
    hold: Hold | None = None
    for attempt in range(ATTEMPTS):
        if attempt:  # the seats changed under the last attempt: read them again
            free = _free_rows(session.execute(_ONLY_FREE_SEATS, {"show_id": request.show_id}), widths)
        block = _choose(free, request, show.no_single_seat_gaps, len(widths), lost, attempt, rng)
        try:
            with session.begin_nested():
                hold = hold_seats(
                    session,
                    HoldRequest(
                        request.show_id,
                        block.labels,
                        request.email,
                        visitor=request.visitor,
                        client_address=request.client_address,
                    ),
                    settings=settings,
                    locker=locker,
                )
            break
        except SeatsUnavailable as exc:
            lost.update(exc.extras.get("seats") or block.labels)
        except SingleSeatGap:
            pass  # a neighbour was taken since the read: read again
    if hold is None:
        raise SeatsUnavailable(sorted(lost))
    if idempotency_key is not None:
        idempotency.record_answer(session, scope, idempotency_key, hold.booking, hold.token)
    return hold


def _free_rows(found: Iterable[Any], widths: dict[str, int]) -> list[RowSeats]:
    """Rows of ``_FREE_SEATS`` as the choice wants them (a row with no free seat is not there)."""
    return [
        RowSeats(r.row, dict(zip(r.cols, zip(r.labels, r.kinds, strict=True), strict=True)), widths[r.row])
        for r in found
        if r.row is not None
    ]


def _choose(
    rows: list[RowSeats],
    request: BestRequest,
    gap_rule: bool,
    row_count: int,
    lost: set[str],
    attempt: int,
    rng: random.Random,
) -> Block:
    """Choose a block for this attempt from the free seats, or raise why there is none."""
    kinds = {request.kind} if request.kind else DEFAULT_KINDS

    def blocks(exclude: set[str]) -> list[Block]:
        # Enough for every attempt's pick (2, 4, 8... of the best), and no more rows than that needs.
        found = rank_rows(
            rows, request.quantity, rows=row_count, kinds=kinds, exclude=exclude, limit=2**ATTEMPTS
        )
        # A show with the rule sells no block that strands a seat; others only prefer not to.
        return [b for b in found if not b.strands] if gap_rule else found

    candidates = blocks(lost)
    if candidates:
        return pick(candidates, attempt, rng)
    if lost and blocks(set()):
        # Blocks exist, but only where racers are holding right now.
        raise SeatsUnavailable(sorted(lost))
    kind = f" {request.kind}" if request.kind else ""
    if request.quantity == 1:
        rule = " that would leave no other seat alone" if gap_rule else ""
        wanted = f"There is no free{kind} seat left{rule}."
    else:
        rule = " that leave no single seat alone" if gap_rule else ""
        wanted = f"There are no {request.quantity} adjacent{kind} seats left in one row{rule}."
    raise NoAdjacentSeats(f"{wanted} Try fewer seats, or pick them on the seat map.")
