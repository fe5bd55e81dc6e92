"""The single-seat-gap rule in the hold path, for shows created with ``no_single_seat_gaps``.

The rule is about neighbours, so the check must see the whole rows a hold
touches and keep them still until the hold commits: otherwise two holds of
one row, each fine alone, could together strand a seat between them. So for
such shows the hold first locks, in one statement and in id order, every
seat of the rows it touches plus every seat of a lapsed booking holding one
of those (that booking will be expired, and expiring frees all its seats,
wherever they are). That is a superset of what the hold statement locks next
(its requested seats and their lapsed holders' seats, judged by the same
transaction-start ``now()``), so the hold statement takes no lock out of id
order and the seats-in-id-order rule that keeps writers deadlock-free holds.

Shows without the rule never come here: holds.py learns the flag from the
query it runs anyway for the per-visitor limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..seatgaps import Spot, stranded_seats
from .errors import SingleSeatGap

_LOCK_ROWS = text(
    """
    SELECT s.id, s.label, s.row, s.col, s.kind,
           s.status = 'AVAILABLE' OR (s.status = 'HELD' AND s.hold_expires_at <= now()) AS free
    FROM seats s
    WHERE s.show_id = :show_id
      AND (s.row = ANY(:rows)
           OR s.booking_id IN (SELECT l.booking_id FROM seats l
                               WHERE l.show_id = :show_id AND l.row = ANY(:rows)
                                 AND l.status = 'HELD' AND l.hold_expires_at <= now()))
    ORDER BY s.id
    FOR UPDATE OF s
    """
)


def show_has_gap_rule(session: Session, show_id: int) -> bool:
    """The show's flag (False for a show that does not exist: the hold reports that itself)."""
    flag = session.execute(
        text("SELECT no_single_seat_gaps FROM shows WHERE id = :id"), {"id": show_id}
    ).scalar_one_or_none()
    return bool(flag)


def lock_rows_and_check(session: Session, show_id: int, labels: Sequence[str]) -> None:
    """Lock the rows of ``labels`` and raise SingleSeatGap if holding them strands a seat.

    If a requested seat is missing or taken the check stays silent: the hold
    statement reports that, with its own error.
    """
    rows = sorted({label[0] for label in labels})
    locked = session.execute(_LOCK_ROWS, {"show_id": show_id, "rows": rows}).all()
    spots = [Spot(r.label, r.row, r.col, r.free, r.kind) for r in locked if r.row in rows]
    free = {spot.label for spot in spots if spot.free}
    if not free.issuperset(labels):
        return
    stranded = stranded_seats(spots, labels)
    if stranded:
        raise SingleSeatGap(stranded)
