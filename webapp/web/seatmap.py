"""The seat map as the templates see it, and the selection the visitor is making.

The selection lives in the browser (app.js) or, without JavaScript, in the
page's query string (``?selected=A1,A2&toggle=A3``), so the server keeps no
state for a visitor who is only looking. Everything here is pure: the views
fetch seats from the booking service and hand them over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..booking.holds import LABEL_PATTERN
from ..money import format_money, minor_unit_digits
from ..seatplan import KINDS, ROW_LETTERS

_STATUS_WORDS = {"AVAILABLE": "available", "HELD": "held", "BOOKED": "booked"}
#: How a seat's kind is said (accessible names, legend).
KIND_WORDS = {
    "standard": "standard",
    "premium": "premium",
    "wheelchair": "wheelchair space",
    "companion": "companion seat",
}

# Part of every ETag and of the shared grid's Redis key, so a deploy that
# changes the partial's markup (or the icons it links to, whose URL carries
# their digest) is not answered with "304 Not Modified" by a map whose seats
# did not change, nor served a grid an older release rendered.
_ROOT = Path(__file__).resolve().parent.parent.parent
MARKUP_VERSION = hashlib.blake2b(
    (_ROOT / "templates" / "_seatmap.html").read_bytes() + (_ROOT / "static" / "icons.svg").read_bytes(),
    digest_size=6,
).hexdigest()


def parse_labels(values: Iterable[str], limit: int = 100) -> list[str]:
    """Seat labels from form or query values (repeated and/or comma-separated).

    Junk is dropped rather than reported: these come from our own forms or
    from a URL someone edited, and the hold itself validates strictly.
    """
    labels: list[str] = []
    for value in values:
        for part in str(value)[:2000].split(","):
            label = part.strip().upper()
            if LABEL_PATTERN.match(label) and label not in labels:
                labels.append(label)
                if len(labels) >= limit:
                    return labels
    return labels


@dataclass(frozen=True)
class SeatView:
    label: str
    row: str
    number: int
    status: str
    selected: bool = False
    #: Taken by someone else a moment ago, while this visitor tried to hold it.
    conflict: bool = False
    #: Would be left alone by the hold just refused (single_seat_gap).
    stranded: bool = False
    #: 1-based position in the row, gaps included.
    column: int = 0
    kind: str = "standard"
    #: Minor units, or None for an unpriced show.
    price: int | None = None
    #: The price for people ("€14.00"), or "" when there is none.
    price_text: str = ""

    @property
    def status_word(self) -> str:
        return _STATUS_WORDS.get(self.status, self.status.lower())

    @property
    def kind_word(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind)

    @property
    def accessible_name(self) -> str:
        """The name a screen reader says, e.g. "Row B, seat 3, premium, €14.00, available"."""
        parts = [f"Row {self.row}", f"seat {self.number}", self.kind_word, self.price_text, self.status_word]
        return ", ".join(part for part in parts if part)


@dataclass
class Selection:
    """What the visitor has picked, after checking it against the current seats."""

    labels: list[str]
    #: Seats that were picked but are no longer available (someone else was faster).
    lost: list[str] = field(default_factory=list)
    #: Set when a no-JavaScript toggle was refused, to say why.
    notice: str | None = None


def resolve_selection(
    seats: Sequence[dict[str, Any]],
    selected: Sequence[str],
    toggle: str | None,
    max_seats: int,
) -> Selection:
    """Apply a no-JavaScript seat click (``toggle``) to the current selection.

    Only available seats can be selected, and at most ``max_seats``; a click
    that would break either rule leaves the selection as it was and explains.
    """
    status = {seat["seat"]: seat["status"] for seat in seats}
    labels = [label for label in selected if status.get(label) == "AVAILABLE"]
    lost = [label for label in selected if label in status and status[label] != "AVAILABLE"]
    labels = labels[:max_seats]
    notice = None
    if toggle is not None and toggle in status:
        if toggle in labels:
            labels.remove(toggle)
        elif status[toggle] != "AVAILABLE":
            notice = f"Seat {toggle} is {_STATUS_WORDS.get(status[toggle], 'taken')}; pick an available seat."
        elif len(labels) >= max_seats:
            notice = f"You can hold at most {max_seats} seats in one booking."
        else:
            labels.append(toggle)
    return Selection(labels=labels, lost=lost, notice=notice)


@dataclass(frozen=True)
class SeatMap:
    #: Each row's positions from the left: a seat, or None for an aisle or gap.
    rows: list[tuple[str, list[SeatView | None]]]
    counts: dict[str, int]
    #: Positions of the widest row, gaps included: the grid's width.
    seats_per_row: int
    currency: str | None = None
    #: Seat kinds present, in KINDS order, with their price text ("" if unpriced).
    kinds: list[tuple[str, str]] = field(default_factory=list)
    #: The selected seats' total, for the panel ("" when the show has no prices).
    selected_total: str = ""
    selected_total_minor: int | None = None
    #: Decimals of the currency's minor unit, for app.js to format the running total.
    minor_digits: int = 2


def build_seat_map(
    seats: Sequence[dict[str, Any]],
    selected: Iterable[str] = (),
    conflicts: Iterable[str] = (),
    currency: str | None = None,
    stranded: Iterable[str] = (),
) -> SeatMap:
    """The grid to draw, from the seat listing alone: seats sit at their column,
    and the columns no seat has are the aisles and gaps. A row with no seats at
    all (a cross aisle) between two that have some is drawn empty."""
    selected_set, conflict_set, stranded_set = set(selected), set(conflicts), set(stranded)
    by_row: dict[str, list[SeatView]] = {}
    counts = {"AVAILABLE": 0, "HELD": 0, "BOOKED": 0}
    prices: dict[str, str] = {}
    selected_prices: list[int] = []
    for seat in seats:  # row-major order from the service
        price = seat.get("price")
        view = SeatView(
            label=seat["seat"],
            row=seat["row"],
            number=seat["number"],
            status=seat["status"],
            selected=seat["seat"] in selected_set and seat["status"] == "AVAILABLE",
            conflict=seat["seat"] in conflict_set,
            stranded=seat["seat"] in stranded_set,
            column=seat.get("column") or seat["number"],
            kind=seat.get("kind") or "standard",
            price=price,
            price_text=format_money(price, currency),
        )
        by_row.setdefault(view.row, []).append(view)
        counts[view.status] = counts.get(view.status, 0) + 1
        prices.setdefault(view.kind, view.price_text)
        if view.selected and price is not None:
            selected_prices.append(price)
    widest = max((view.column for row in by_row.values() for view in row), default=0)
    rows: list[tuple[str, list[SeatView | None]]] = []
    if by_row:
        last = ROW_LETTERS.index(max(by_row))
        for letter in ROW_LETTERS[: last + 1]:
            cells: list[SeatView | None] = [None] * widest
            for view in by_row.get(letter, []):
                cells[view.column - 1] = view
            rows.append((letter, cells))
    priced = currency is not None and any(prices.values())
    total = sum(selected_prices) if priced else None
    return SeatMap(
        rows=rows,
        counts=counts,
        seats_per_row=widest,
        currency=currency,
        kinds=[(kind, prices[kind]) for kind in KINDS if kind in prices],
        selected_total=format_money(total, currency) if total is not None else "",
        selected_total_minor=total,
        minor_digits=minor_unit_digits(currency) if currency else 2,
    )


def seat_map_etag(state_digest: str, *variant: Sequence[str]) -> str:
    """A validator for the rendered map, computed without rendering it."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{MARKUP_VERSION}|{state_digest}".encode())
    for labels in variant:
        digest.update(("|" + ",".join(labels)).encode())
    return digest.hexdigest()
