"""Best available, pure: rank the blocks of adjacent free seats a hold could take.

Adjacent means one row, consecutive columns: no aisle or gap between (seat
numbers skip gaps, so consecutive numbers are not enough). Best means, in
order:

1. strands no seat (webapp/seatgaps.py): a block that leaves a seat alone
   only comes after every block that does not;
2. the row nearest two thirds of the way back (index ``round((rows - 1) * 2
   / 3)``, 0-based), a row further back winning a tie;
3. the block's centre nearest the row's centre (by column), the left one
   winning a tie.

On an empty 10 x 12 rectangle two seats are therefore G6 and G7. The
service (webapp/booking/best.py) reads the seats, ranks them here and holds
the first block; only after losing races does it pick among the next few
(``pick``), so that many simultaneous requests spread over the house
instead of all trying the same block.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .seatgaps import Spot

#: Kinds best available picks when no kind is asked for (mixed in one block if need be).
DEFAULT_KINDS = frozenset({"standard", "premium"})


@dataclass(frozen=True, slots=True)
class Block:
    labels: tuple[str, ...]
    row: str
    #: Seats this block would leave alone (labels).
    strands: tuple[str, ...]
    #: Smaller is better; see the module docstring.
    score: tuple[int, int, float, int, int]


def target_row(rows: int) -> int:
    """The 0-based index of the best row: round((rows - 1) * 2 / 3).

    (rows - 1) * 2 / 3 is never exactly half-way between two whole numbers,
    so there is no rounding tie to break.
    """
    return int((rows - 1) * 2 / 3 + 0.5)


@dataclass(frozen=True, slots=True)
class RowSeats:
    """One row as best available sees it: its free seats by column, and its width."""

    row: str
    #: column -> (label, kind) of every seat that can be held now, of any kind.
    free: Mapping[int, tuple[str, str]]
    #: Positions of the row, gaps included: its centre is (1 + width) / 2.
    width: int


def ranked_blocks(
    spots: Iterable[Spot],
    quantity: int,
    *,
    rows: int,
    kinds: Collection[str] = DEFAULT_KINDS,
    row_widths: Mapping[str, int] | None = None,
    exclude: Collection[str] = (),
    limit: int | None = None,
) -> list[Block]:
    """Every block of ``quantity`` adjacent free seats of ``kinds``, best first.

    ``row_widths`` gives each row's positions, gaps included (the layout
    string's length), for the row's centre; by default the last seat's
    column. Seats in ``exclude`` are left out (lost to a racer a moment ago).
    ``limit``: see ``rank_rows``.
    """
    free: dict[str, dict[int, tuple[str, str]]] = defaultdict(dict)
    last: dict[str, int] = {}
    for spot in spots:
        last[spot.row] = max(last.get(spot.row, 0), spot.column)
        if spot.free:
            free[spot.row][spot.column] = (spot.label, spot.kind)
    widths = row_widths or {}
    return rank_rows(
        [RowSeats(row, free[row], widths.get(row) or column) for row, column in last.items()],
        quantity,
        rows=rows,
        kinds=kinds,
        exclude=exclude,
        limit=limit,
    )


def rank_rows(
    row_seats: Iterable[RowSeats],
    quantity: int,
    *,
    rows: int,
    kinds: Collection[str] = DEFAULT_KINDS,
    exclude: Collection[str] = (),
    limit: int | None = None,
) -> list[Block]:
    """``ranked_blocks`` from rows already grouped (what webapp/booking/best.py reads).

    Rows are visited nearest the best row first. With ``limit``, the visit
    stops once ``limit`` blocks that strand nobody are found (every block of
    a row further away ranks after them): the list then starts with the best
    ``limit`` or more such blocks, which is all ``pick`` ever looks at, but
    is not complete. A presale's first holds look at one or two rows, not
    the whole house.
    """
    target = target_row(rows)
    tiers: dict[int, list[RowSeats]] = defaultdict(list)
    for row in row_seats:
        tiers[abs(ord(row.row) - ord("A") - target)].append(row)
    skipped = set(exclude)
    clean: list[Block] = []
    stranding: list[Block] = []
    for distance in sorted(tiers):
        for row in tiers[distance]:
            for block in _row_blocks(row, quantity, distance, kinds, skipped):
                (stranding if block.strands else clean).append(block)
        if limit is not None and len(clean) >= limit:
            break
    clean.sort(key=lambda b: b.score)
    stranding.sort(key=lambda b: b.score)
    return clean + stranding


def _row_blocks(
    row: RowSeats, quantity: int, distance: int, kinds: Collection[str], skipped: set[str]
) -> Iterable[Block]:
    index = ord(row.row) - ord("A")
    centre = (1 + row.width) / 2
    free = row.free
    usable = sorted(c for c, (label, kind) in free.items() if kind in kinds and label not in skipped)
    run_start = 0
    for i in range(1, len(usable) + 1):
        if i < len(usable) and usable[i] == usable[i - 1] + 1:
            continue
        run = usable[run_start:i]  # consecutive columns
        run_start = i
        for start in range(len(run) - quantity + 1):
            first, last = run[start], run[start + quantity - 1]
            # A block is contiguous, so only the seat just left or right of it
            # can be left alone by it: free before, with its other side not free.
            strands = tuple(
                free[c][0]
                for c, beyond in ((first - 1, first - 2), (last + 1, last + 2))
                if c in free and beyond not in free
            )
            yield Block(
                labels=tuple(free[c][0] for c in range(first, last + 1)),
                row=row.row,
                strands=strands,
                score=(1 if strands else 0, distance, abs((first + last) / 2 - centre), -index, first),
            )


def pick(blocks: Sequence[Block], attempt: int, rng: random.Random) -> Block:
    """The block to try on this attempt (0 = the first try).

    The first try takes the best block. A retry means racers went for the
    same seats, so it picks at random among the few best (2, 4, 8... as the
    attempts go on), never trading a block that strands nobody for one that
    strands someone.
    """
    best = blocks[0]
    if attempt == 0:
        return best
    peers = [b for b in blocks if bool(b.strands) == bool(best.strands)]
    return rng.choice(peers[: 2 ** (attempt + 1)])
