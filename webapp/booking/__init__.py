"""The booking service: every change to seats and bookings goes through here.

Views, RQ jobs and CLI commands call these functions with a session; the
caller owns the transaction and commits it. Nothing here commits, and
nothing here knows about Flask or HTTP: settings and the seat locker are
passed in (``BookingSettings``, ``webapp.locks.SeatLocker``).

Rules every writer keeps, so concurrent transactions cannot deadlock:
seat rows are locked before booking rows, and seat rows always in id order.

Lazy expiry: a PENDING booking whose hold has passed (by database time) is
EXPIRED to every reader and every writer, whether or not the expiry job has
written it yet.

One module per concern: ``queries`` (reads), ``shows`` (creating shows),
``auditoriums`` (named seat plans), ``holds`` (the hot path), ``best`` (best available),
``gaps`` (the single-seat-gap rule), ``settle`` (confirm and cancel), ``extend`` (more time), ``expiry``,
``idempotency``, ``housekeeping``, ``tokens``, ``errors``, ``settings``.
"""
