"""The booking service bound to the running app: its settings, its seat locker, its commit.

Views build what the service needs here, in one place, rather than the
service reading the app: ``BookingSettings`` from the config (per call, so a
test that changes a setting sees it at once) and the app's ``SeatLocker``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from .booking.best import BestRequest, hold_best
from .booking.cancel_show import cancel_show
from .booking.errors import DomainError
from .booking.extend import extend_hold
from .booking.holds import Hold, HoldRequest, hold_seats
from .booking.settings import BookingSettings
from .booking.settle import Settled
from .extensions import db
from .locks import SeatLocker
from .metrics import count_hold
from .models import BookingStatus

SettleAction = Callable[[Session, uuid.UUID, str | None], Settled]


def booking_settings() -> BookingSettings:
    return BookingSettings.from_config(current_app.config)


def seat_locker() -> SeatLocker:
    return current_app.extensions["seat_locker"]


def hold_and_commit(request: HoldRequest, idempotency_key: str | None = None) -> Hold:
    """Hold the seats and commit; a DomainError leaves the transaction for the error handler to end."""
    return _counted(
        lambda: hold_seats(
            db.session,
            request,
            settings=booking_settings(),
            locker=seat_locker(),
            idempotency_key=idempotency_key,
        )
    )


def best_and_commit(request: BestRequest, idempotency_key: str | None = None) -> Hold:
    """Hold the best block of adjacent seats and commit; errors as for ``hold_and_commit``."""
    return _counted(
        lambda: hold_best(
            db.session,
            request,
            settings=booking_settings(),
            locker=seat_locker(),
            idempotency_key=idempotency_key,
        )
    )


def _counted(hold: Callable[[], Hold]) -> Hold:
    """Run a hold (by label or best available) and commit; every outcome is counted for
    /metrics (``marquee_holds_total``)."""
    try:
        held = hold()
        db.session.commit()
    except DomainError as exc:
        count_hold("unavailable" if exc.code == "seats_unavailable" else exc.code)
        raise
    except Exception:
        count_hold("error")
        raise
    count_hold("replayed" if held.replayed else "held")
    return held


def extend_and_commit(booking_id: uuid.UUID, token: str | None) -> Settled:
    """Extend the hold by HOLD_SECONDS from now, and commit (also an expiry it reports as an error)."""
    settled = extend_hold(db.session, booking_id, token, booking_settings().hold_seconds)
    db.session.commit()
    return settled


def cancel_show_and_commit(show_id: int) -> dict[str, Any]:
    """Cancel the show and commit; then its seats are no longer "taken" in Redis either
    (holds must hear ``show_cancelled``, webapp/locks.py)."""
    show = cancel_show(db.session, show_id)
    db.session.commit()
    seat_locker().forget_show(show_id)
    return show


def settle_and_commit(action: SettleAction, booking_id: uuid.UUID, token: str | None) -> Settled:
    """Confirm or cancel, and commit whatever it wrote: also an expiry it reports as an error.

    The one settle path of the API and the pages; each reports ``Settled.error`` its own way.
    """
    settled = action(db.session, booking_id, token)
    db.session.commit()
    booking = settled.booking
    if booking is not None and booking["status"] == BookingStatus.CANCELLED.value:
        # Its seats are free now: do not let Redis turn requests for them away as taken.
        seat_locker().forget(booking["show_id"], booking["seats"])
    return settled
