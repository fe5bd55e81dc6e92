"""Seat plans: parsing a ``layout`` into the seats it describes.

Pure (no Flask, no database), so the API validator, the admin page's live
preview, the show service and the tests all share one reading of a layout.

A layout is a list of 1-26 strings, one per row from the screen back (rows
A, B, ...). Each character is one position: ``s`` standard seat, ``p``
premium seat, ``w`` wheelchair space, ``c`` companion seat, ``.`` no seat
(an aisle or a gap). Seat numbers count seats from the left and skip gaps;
a seat's ``column`` is its 1-based position including the gaps, which is
what a client needs to draw the aisles.
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass
from typing import Any

MAX_ROWS = 26
MAX_POSITIONS = 50
GAP = "."
ROW_LETTERS = string.ascii_uppercase


class SeatKind(enum.StrEnum):
    """The kinds as the API and the database name them."""

    STANDARD = "standard"
    PREMIUM = "premium"
    WHEELCHAIR = "wheelchair"
    COMPANION = "companion"


#: Layout character -> kind, and back.
KIND_BY_CHAR: dict[str, SeatKind] = {
    "s": SeatKind.STANDARD,
    "p": SeatKind.PREMIUM,
    "w": SeatKind.WHEELCHAIR,
    "c": SeatKind.COMPANION,
}
CHAR_BY_KIND: dict[SeatKind, str] = {kind: char for char, kind in KIND_BY_CHAR.items()}
KINDS: tuple[str, ...] = tuple(kind.value for kind in SeatKind)


class LayoutError(ValueError):
    """A layout that cannot be a seat plan; the message names the row and position at fault."""


@dataclass(frozen=True)
class PlannedSeat:
    row: str
    number: int
    column: int
    kind: SeatKind

    @property
    def label(self) -> str:
        return f"{self.row}{self.number}"


@dataclass(frozen=True)
class SeatPlan:
    layout: tuple[str, ...]
    seats: tuple[PlannedSeat, ...]

    @property
    def rows(self) -> int:
        return len(self.layout)

    @property
    def seats_per_row(self) -> int:
        """The widest row's positions, gaps included (the width to draw)."""
        return max(len(row) for row in self.layout)

    @property
    def capacity(self) -> int:
        return len(self.seats)

    @property
    def kinds(self) -> frozenset[str]:
        """The seat kinds this plan has, each needing a price when a show is priced."""
        return frozenset(seat.kind.value for seat in self.seats)


def rectangle_layout(rows: int, seats_per_row: int) -> list[str]:
    """The layout of the classic ``rows`` x ``seats_per_row`` block of standard seats."""
    return ["s" * seats_per_row for _ in range(rows)]


def parse_layout(value: Any) -> SeatPlan:
    """Read a layout sent by a client (any JSON value); raises LayoutError saying what is wrong."""
    if not isinstance(value, list) or not value:
        raise LayoutError(f'must be a list of 1 to {MAX_ROWS} row strings such as ["ss.ss", "pp.pp"]')
    if len(value) > MAX_ROWS:
        raise LayoutError(f"has {len(value)} rows; at most {MAX_ROWS} (A to Z)")
    seats: list[PlannedSeat] = []
    for row_index, row in enumerate(value):
        letter = ROW_LETTERS[row_index]
        if not isinstance(row, str):
            raise LayoutError(f"row {letter} (item {row_index + 1}) must be a string")
        if not row:
            raise LayoutError(f"row {letter} is empty; use '.' for positions without a seat")
        if len(row) > MAX_POSITIONS:
            raise LayoutError(f"row {letter} has {len(row)} positions; at most {MAX_POSITIONS}")
        number = 0
        for position, char in enumerate(row, start=1):
            if char == GAP:
                continue
            kind = KIND_BY_CHAR.get(char)
            if kind is None:
                shown = char if char.isprintable() else f"U+{ord(char):04X}"
                raise LayoutError(
                    f"row {letter}, position {position}: {shown!r} is not a seat; "
                    "use s (standard), p (premium), w (wheelchair), c (companion) or . (no seat)"
                )
            number += 1
            seats.append(PlannedSeat(row=letter, number=number, column=position, kind=kind))
    if not seats:
        raise LayoutError("has no seats; a plan needs at least one s, p, w or c")
    return SeatPlan(layout=tuple(value), seats=tuple(seats))


def missing_prices(plan: SeatPlan, prices: dict[str, int]) -> list[str]:
    """The seat kinds of ``plan`` that ``prices`` gives no price for, in KINDS order."""
    return [kind for kind in KINDS if kind in plan.kinds and kind not in prices]
