"""The single-seat-gap rule, pure: which seats a hold would leave alone.

A seat is *alone* when it is available and neither position beside it (by
column, so an aisle counts) holds an available seat: taken seats, the row's
ends and gaps all count as not available. A hold *strands* a seat when the
seat is alone after the hold and was not alone before it; a seat that was
alone already is not this hold's doing.

Shared by the hold path (under row locks, for shows with the rule), best
available (which prefers blocks that strand nothing) and the tests. No
database, no Flask: ``Spot`` is all it needs to know about a seat.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Spot:
    """A seat as the rule sees it: where it is and whether it can be held now."""

    label: str
    row: str
    column: int
    free: bool
    kind: str = "standard"


def _alone(column: int, free: Collection[int]) -> bool:
    return column in free and column - 1 not in free and column + 1 not in free


def stranded_in_row(free_before: Collection[int], taking: Collection[int]) -> list[int]:
    """Columns of one row that ``taking`` strands, given the row's free columns before it."""
    before = set(free_before)
    after = before - set(taking)
    # Only a neighbour of a taken column can change from "not alone" to "alone".
    near = {column + step for column in taking for step in (-1, 1)}
    return sorted(c for c in near if _alone(c, after) and not _alone(c, before))


def stranded_seats(spots: Iterable[Spot], taking: Collection[str]) -> list[str]:
    """Labels of the seats that holding ``taking`` would leave alone, row by row, left to right."""
    by_row: dict[str, list[Spot]] = defaultdict(list)
    for spot in spots:
        by_row[spot.row].append(spot)
    wanted = set(taking)
    stranded: list[str] = []
    for row in sorted(by_row):
        seats = by_row[row]
        taken_columns = [s.column for s in seats if s.label in wanted]
        if not taken_columns:
            continue
        label_at = {s.column: s.label for s in seats}
        free = [s.column for s in seats if s.free]
        stranded.extend(label_at[c] for c in stranded_in_row(free, taken_columns))
    return stranded
