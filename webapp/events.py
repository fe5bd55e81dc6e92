"""Work that must wait for the caller's transaction to end.

Services never commit; the caller does. Some effects belong after that
commit, though: telling open seat maps and caches that seats changed, and
releasing the Redis seat locks. Services register them here against the
session, and SQLAlchemy session events run them when the transaction ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from blinker import Namespace
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_signals = Namespace()

#: Sent after a commit that changed seats of a show, once per show; receivers
#: get ``show_id``, and ``version_bumped`` (True when the seat map's version
#: was already set by an after-commit callback). The seat-map cache, ETags and the live map listen here.
seats_changed = _signals.signal("seats-changed")

#: Sent after a commit that owes a customer a message; receivers get
#: ``outbox_id``. The job queue listens here and enqueues its delivery.
message_owed = _signals.signal("message-owed")

_ON_COMMIT = "marquee.on_commit"
_ON_END = "marquee.on_end"
_CHANGED_SHOWS = "marquee.changed_shows"
_BUMPED_SHOWS = "marquee.bumped_shows"


def mark_seats_changed(session: Session, show_id: int) -> None:
    session.info.setdefault(_CHANGED_SHOWS, set()).add(show_id)


def mark_version_bumped(session: Session, show_id: int) -> None:
    """An after-commit callback already gave the show's seat map a new version (the
    seat locks' release does, in the same Redis call): ``seats_changed`` says so."""
    session.info.setdefault(_BUMPED_SHOWS, set()).add(show_id)


def on_transaction_end(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current transaction commits or rolls back."""
    session.info.setdefault(_ON_END, []).append(lambda committed=False: callback())


def on_outcome(session: Session, callback: Callable[[bool], None]) -> None:
    """Run ``callback(committed)`` once the current transaction commits (True) or rolls back.

    For an effect that differs by outcome but must cost one call either way
    (the seat locks: released, or kept as taken markers after a commit).
    """
    session.info.setdefault(_ON_END, []).append(lambda committed=False: callback(committed))


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` only if the current transaction commits; a rollback drops it.

    For effects that announce committed data to other processes (enqueueing a
    job that reads the row): run before the commit, or after a rollback, the
    job would look for a row that is not there.
    """
    session.info.setdefault(_ON_COMMIT, []).append(callback)


def _run(callbacks: list[Callable[..., None]], *args: bool) -> None:
    for callback in callbacks:
        try:
            callback(*args)
        except Exception:  # an after-commit effect must never undo a committed booking
            log.exception("after-transaction callback failed")


def _after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED_SHOWS, set())
    _run(session.info.pop(_ON_END, []), True)
    _run(session.info.pop(_ON_COMMIT, []))
    bumped = session.info.pop(_BUMPED_SHOWS, set())
    for show_id in sorted(changed):
        try:
            seats_changed.send(show_id, show_id=show_id, version_bumped=show_id in bumped)
        except Exception:
            log.exception("seats_changed receiver failed for show %s", show_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED_SHOWS, None)
    session.info.pop(_BUMPED_SHOWS, None)
    session.info.pop(_ON_COMMIT, None)
    _run(session.info.pop(_ON_END, []))


def install_session_hooks() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        # A session closed without an explicit rollback (request teardown)
        # still ends its transaction; release what it held.
        event.listen(Session, "after_transaction_end", _after_transaction_end)


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None and (session.info.get(_ON_END) or session.info.get(_ON_COMMIT)):
        _after_rollback(session)
