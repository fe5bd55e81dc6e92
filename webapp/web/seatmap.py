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

_STATUS_WORDS = {"AVAILABLE": "available", "HELD": "held", "BOOKED": "booked"}

# Part of every ETag, so a deploy that changes the partial's markup is not
# answered with "304 Not Modified" by a map whose seats did not change.
_TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
_MARKUP_VERSION = hashlib.blake2b(
    b"".join((_TEMPLATE_DIR / name).read_bytes() for name in ("_seatmap.html",)),
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

    @property
    def status_word(self) -> str:
        return _STATUS_WORDS.get(self.status, self.status.lower())

    @property
    def accessible_name(self) -> str:
        return f"Row {self.row}, seat {self.number}, {self.status_word}"


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
    rows: list[tuple[str, list[SeatView]]]
    counts: dict[str, int]
    seats_per_row: int


def build_seat_map(
    seats: Sequence[dict[str, Any]],
    selected: Iterable[str] = (),
    conflicts: Iterable[str] = (),
) -> SeatMap:
    selected_set, conflict_set = set(selected), set(conflicts)
    rows: dict[str, list[SeatView]] = {}
    counts = {"AVAILABLE": 0, "HELD": 0, "BOOKED": 0}
    for seat in seats:  # row-major order from the service
        view = SeatView(
            label=seat["seat"],
            row=seat["row"],
            number=seat["number"],
            status=seat["status"],
            selected=seat["seat"] in selected_set and seat["status"] == "AVAILABLE",
            conflict=seat["seat"] in conflict_set,
        )
        rows.setdefault(view.row, []).append(view)
        counts[view.status] = counts.get(view.status, 0) + 1
    widest = max((len(row) for row in rows.values()), default=0)
    return SeatMap(rows=list(rows.items()), counts=counts, seats_per_row=widest)


def seat_map_etag(state_digest: str, *variant: Sequence[str]) -> str:
    """A validator for the rendered map, computed without rendering it."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{_MARKUP_VERSION}|{state_digest}".encode())
    for labels in variant:
        digest.update(("|" + ",".join(labels)).encode())
    return digest.hexdigest()
