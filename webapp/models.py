"""The schema. The database, not the code, keeps the booking rules.

How "a seat belongs to at most one active booking" is made unbreakable:

* ``seats.booking_id`` names the one booking holding the seat, so a seat row
  can point at one holder at most. ``seats.holder_status`` is derived from the
  seat's status (HELD -> PENDING, BOOKED -> CONFIRMED) and a deferred composite
  foreign key ``(booking_id, holder_status) -> bookings (id, status)`` makes
  every commit agree with the booking's real status: a seat cannot stay HELD by
  a cancelled booking, nor BOOKED by a pending one.
* ``booking_seats`` is the permanent record of every booking's seats. It copies
  the booking's status through ``ON UPDATE CASCADE`` and a partial unique index
  allows one PENDING or CONFIRMED row per seat, so even code that forgot to
  touch ``seats`` cannot give a seat to two live bookings.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db


class SeatStatus(enum.StrEnum):
    AVAILABLE = "AVAILABLE"
    HELD = "HELD"
    BOOKED = "BOOKED"


class ShowStatus(enum.StrEnum):
    SCHEDULED = "SCHEDULED"
    CANCELLED = "CANCELLED"


class BookingStatus(enum.StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


def _in(column: str, values: type[enum.StrEnum] | tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


_SEAT_KINDS = ("standard", "premium", "wheelchair", "companion")


class Auditorium(db.Model):
    """A named, reusable seat plan. Shows copy its layout when they are created,
    so editing an auditorium never changes a show already on sale."""

    __tablename__ = "auditoriums"
    __table_args__ = (
        CheckConstraint("char_length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("jsonb_typeof(layout) = 'array'", name="layout_is_array"),
        Index("uq_auditoriums_name", func.lower(text("name")), unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    layout: Mapped[list[str]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Show(db.Model):
    __tablename__ = "shows"
    __table_args__ = (
        CheckConstraint("rows BETWEEN 1 AND 26", name="rows_range"),
        CheckConstraint("jsonb_typeof(layout) = 'array'", name="layout_is_array"),
        CheckConstraint("prices IS NULL OR jsonb_typeof(prices) = 'object'", name="prices_is_object"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
        # A priced show always says in what currency.
        CheckConstraint("prices IS NULL OR currency IS NOT NULL", name="prices_have_currency"),
        CheckConstraint("seats_per_row BETWEEN 1 AND 50", name="seats_per_row_range"),
        CheckConstraint("char_length(btrim(title)) BETWEEN 1 AND 200", name="title_length"),
        Index("ix_shows_starts_at", "starts_at"),
        CheckConstraint(_in("status", ShowStatus), name="status_valid"),
        CheckConstraint("(status = 'CANCELLED') = (cancelled_at IS NOT NULL)", name="cancelled_at_set"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    auditorium: Mapped[str | None] = mapped_column(String(100))
    rows: Mapped[int] = mapped_column(SmallInteger)
    seats_per_row: Mapped[int] = mapped_column(SmallInteger)
    #: The seat plan, copied from the auditorium (if any) when the show was created.
    layout: Mapped[list[str]] = mapped_column(JSONB)
    #: Price per seat kind in minor units of ``currency``; NULL for an unpriced show.
    prices: Mapped[dict[str, int] | None] = mapped_column(JSONB(none_as_null=True))
    currency: Mapped[str | None] = mapped_column(String(3))
    auditorium_id: Mapped[int | None] = mapped_column(ForeignKey("auditoriums.id", ondelete="SET NULL"))
    #: Refuse holds that would leave one available seat alone between taken seats, gaps or row ends.
    no_single_seat_gaps: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: SCHEDULED, or CANCELLED for good (webapp/booking/cancel_show.py); holds check it under a row lock.
    status: Mapped[str] = mapped_column(Text, server_default=ShowStatus.SCHEDULED.value)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Seat(db.Model):
    __tablename__ = "seats"
    __table_args__ = (
        UniqueConstraint("show_id", "label", name="uq_seats_show_id_label"),
        UniqueConstraint("show_id", "row", "number", name="uq_seats_show_id_row_number"),
        CheckConstraint(_in("status", SeatStatus), name="status_valid"),
        CheckConstraint("row ~ '^[A-Z]$'", name="row_letter"),
        CheckConstraint("number BETWEEN 1 AND 50", name="number_range"),
        CheckConstraint("col BETWEEN 1 AND 50", name="col_range"),
        CheckConstraint("col >= number", name="col_not_before_number"),
        CheckConstraint(_in("kind", _SEAT_KINDS), name="kind_valid"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        UniqueConstraint("show_id", "row", "col", name="uq_seats_show_id_row_col"),
        CheckConstraint("(status = 'AVAILABLE') = (booking_id IS NULL)", name="holder_matches_status"),
        CheckConstraint("(status = 'HELD') = (hold_expires_at IS NOT NULL)", name="expiry_matches_status"),
        ForeignKeyConstraint(
            ["booking_id", "holder_status"],
            ["bookings.id", "bookings.status"],
            name="fk_seats_holder_bookings",
            deferrable=True,
            initially="DEFERRED",
        ),
        # Not partial: the planner cannot use a partial index for join or
        # IN-subquery lookups by booking (expiry, confirm, cancel).
        Index("ix_seats_booking_id", "booking_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    row: Mapped[str] = mapped_column(String(1))
    number: Mapped[int] = mapped_column(SmallInteger)
    #: 1-based position in the row, gaps included (the API's ``column``; not a reserved word).
    col: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(Text, server_default="standard")
    #: The show's price for this kind, copied here so a hold sums its total from the rows it locks.
    price: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text, Computed("row || number::text", persisted=True))
    status: Mapped[str] = mapped_column(Text, server_default=SeatStatus.AVAILABLE.value)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    holder_status: Mapped[str | None] = mapped_column(
        Text,
        Computed(
            "CASE status WHEN 'HELD' THEN 'PENDING' WHEN 'BOOKED' THEN 'CONFIRMED' END",
            persisted=True,
        ),
    )


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(_in("status", BookingStatus), name="status_valid"),
        CheckConstraint("status <> 'CONFIRMED' OR confirmed_at IS NOT NULL", name="confirmed_at_set"),
        CheckConstraint("(status = 'CANCELLED') = (cancelled_at IS NOT NULL)", name="cancelled_at_set"),
        CheckConstraint("(status = 'EXPIRED') = (expired_at IS NOT NULL)", name="expired_at_set"),
        CheckConstraint("octet_length(token_hash) = 32", name="token_hash_sha256"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("(total IS NULL) = (currency IS NULL)", name="total_has_currency"),
        CheckConstraint("extensions_left >= 0", name="extensions_left_not_negative"),
        # Target of the composite foreign keys that tie seats to the booking's status.
        UniqueConstraint("id", "status", name="uq_bookings_id_status"),
        Index("ix_bookings_show_id_created_at", "show_id", "created_at"),
        Index(
            "ix_bookings_pending_hold_expires_at",
            "hold_expires_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index(
            "ix_bookings_pending_visitor",
            "visitor",
            postgresql_where=text("status = 'PENDING' AND visitor IS NOT NULL"),
        ),
        Index(
            "ix_bookings_pending_client_address",
            "client_address",
            postgresql_where=text("status = 'PENDING' AND client_address IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    email: Mapped[str | None] = mapped_column(String(254))
    # Who made the hold ("session:<id>" or "ip:<address>"), for the per-visitor limit.
    visitor: Mapped[str | None] = mapped_column(Text)
    # The client's address: web holds count against it too, so a visitor who
    # drops the session cookie is still the same client.
    client_address: Mapped[str | None] = mapped_column(Text)
    #: What the seats cost when they were held, in minor units; a later price change never rewrites it.
    total: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    hold_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: How many times the hold was extended; at most MAX_HOLD_EXTENSIONS.
    extensions_left: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BookingSeat(db.Model):
    """The permanent record of which seats a booking had, whatever became of it."""

    __tablename__ = "booking_seats"
    __table_args__ = (
        ForeignKeyConstraint(
            ["booking_id", "booking_status"],
            ["bookings.id", "bookings.status"],
            name="fk_booking_seats_booking_bookings",
            # The copy of the status follows the booking; deleting a booking
            # that ever had seats is refused, so history cannot be lost.
            onupdate="CASCADE",
        ),
        Index(
            "uq_booking_seats_live_seat",
            "seat_id",
            unique=True,
            postgresql_where=text("booking_status IN ('PENDING', 'CONFIRMED')"),
        ),
    )

    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    booking_status: Mapped[str] = mapped_column(Text)


class IdempotencyKey(db.Model):
    """The first answer to a hold sent with an ``Idempotency-Key``.

    Only hashes are stored: the key's hash identifies the record, and the
    booking token is kept masked with a pad derived from the raw key, so the
    record is useless to anyone who does not already know the key.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    key_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    masked_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    response: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboxStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DEAD = "DEAD"


class OutboxKind(enum.StrEnum):
    BOOKING_CONFIRMED = "booking_confirmed"
    SHOW_CANCELLED = "show_cancelled"


class OutboxMessage(db.Model):
    """A message owed to a customer, written in the transaction that made it due.

    The confirm and its message commit or roll back together (transactional
    outbox), so a confirmed booking can never miss its message and a rolled
    back one never gets one. One row per booking and kind: a repeated confirm
    cannot owe a second message. ``attempts`` doubles as the claim token of
    the delivery in progress (see webapp/outbox.py).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("booking_id", "kind", name="uq_outbox_booking_id_kind"),
        CheckConstraint(_in("status", OutboxStatus), name="status_valid"),
        CheckConstraint(_in("kind", OutboxKind), name="kind_valid"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("(status = 'SENT') = (sent_at IS NOT NULL)", name="sent_at_set"),
        Index(
            "ix_outbox_pending_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # No cascade: a booking that is owed or was sent a message is never deleted.
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Ticket(db.Model):
    """One seat of a confirmed booking, with the code the door scans.

    Issued by the confirm, in its transaction. The code is looked up by a
    unique index; ``checked_in_at`` is set once, by one conditional UPDATE
    (webapp/booking/tickets.py), so two scans cannot both admit. A cancelled
    booking's tickets carry ``voided_at``, and a ticket is never both void and
    checked in.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("booking_id", "seat_id", name="uq_tickets_booking_id_seat_id"),
        CheckConstraint("code ~ '^[A-Za-z0-9_-]{22,64}$'", name="code_format"),
        CheckConstraint("checked_in_at IS NULL OR voided_at IS NULL", name="void_or_checked_in"),
        Index("uq_tickets_code", "code", unique=True),
        Index("ix_tickets_show_id_checked_in", "show_id", postgresql_where=text("checked_in_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="RESTRICT"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id", ondelete="RESTRICT"))
    #: Copied from the booking, so a show's check-ins are counted without a join.
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="RESTRICT"))
    label: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
