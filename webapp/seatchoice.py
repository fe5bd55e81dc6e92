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

from .seatgaps import Spot, stranded_in_row

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


def ranked_blocks(
    spots: Iterable[Spot],
    quantity: int,
    *,
    rows: int,
    kinds: Collection[str] = DEFAULT_KINDS,
    row_widths: Mapping[str, int] | None = None,
    exclude: Collection[str] = (),
) -> list[Block]:
    """Every block of ``quantity`` adjacent free seats of ``kinds``, best first.

    ``row_widths`` gives each row's positions, gaps included (the layout
    string's length), for the row's centre; by default the last seat's
    column. Seats in ``exclude`` are left out (lost to a racer a moment ago).
    """
    by_row: dict[str, list[Spot]] = defaultdict(list)
    for spot in spots:
        by_row[spot.row].append(spot)
    target = target_row(rows)
    skipped = set(exclude)
    blocks: list[Block] = []
    for row, seats in by_row.items():
        seats.sort(key=lambda s: s.column)
        index = ord(row) - ord("A")
        width = (row_widths or {}).get(row) or seats[-1].column
        centre = (1 + width) / 2
        free = [s.column for s in seats if s.free]
        label_at = {s.column: s.label for s in seats}
        run: list[Spot] = []
        for seat in [*seats, None]:
            usable = seat is not None and seat.free and seat.kind in kinds and seat.label not in skipped
            if usable and run and seat.column == run[-1].column + 1:
                run.append(seat)
                continue
            for start in range(len(run) - quantity + 1):
                block = run[start : start + quantity]
                columns = [s.column for s in block]
                strands = stranded_in_row(free, columns)
                block_centre = (columns[0] + columns[-1]) / 2
                blocks.append(
                    Block(
                        labels=tuple(s.label for s in block),
                        row=row,
                        strands=tuple(label_at[c] for c in strands),
                        score=(
                            1 if strands else 0,
                            abs(index - target),
                            abs(block_centre - centre),
                            -index,
                            columns[0],
                        ),
                    )
                )
            run = [seat] if usable and seat is not None else []
    blocks.sort(key=lambda b: b.score)
    return blocks


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
