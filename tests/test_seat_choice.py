"""Best available and the single-seat-gap rule, pure: scoring and stranding over many layouts."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.seatchoice import DEFAULT_KINDS, pick, ranked_blocks, target_row
from webapp.seatgaps import Spot, stranded_in_row, stranded_seats
from webapp.seatplan import parse_layout


def spots_of(layout: list[str], taken: set[str] = frozenset()) -> list[Spot]:
    plan = parse_layout(layout)
    return [Spot(s.label, s.row, s.column, s.label not in taken, s.kind.value) for s in plan.seats]


def widths(layout: list[str]) -> dict[str, int]:
    return {chr(ord("A") + i): len(row) for i, row in enumerate(layout)}


def best(layout: list[str], quantity: int, taken: set[str] = frozenset(), **kwargs) -> tuple[str, ...] | None:
    blocks = ranked_blocks(
        spots_of(layout, taken), quantity, rows=len(layout), row_widths=widths(layout), **kwargs
    )
    return blocks[0].labels if blocks else None


# --- examples ---------------------------------------------------------------------------


def test_two_seats_on_an_empty_10_by_12_rectangle_are_g6_and_g7():
    assert best(["s" * 12] * 10, 2) == ("G6", "G7")


def test_target_row_is_two_thirds_back():
    assert [target_row(rows) for rows in (1, 2, 3, 4, 10, 12, 26)] == [0, 1, 1, 2, 6, 7, 17]


def test_odd_quantity_sits_on_the_centre_and_ties_go_left():
    assert best(["s" * 7], 3) == ("A3", "A4", "A5")
    assert best(["s" * 6], 1) == ("A3",)  # A3 and A4 are as central; the left one wins


def test_an_aisle_breaks_adjacency():
    # "ss.ss": A2 and A3 are consecutive numbers but an aisle lies between them.
    assert best(["ss.ss"], 3) is None
    assert set(best(["ss.ss"], 2)) in ({"A1", "A2"}, {"A3", "A4"})


def test_a_block_that_strands_nobody_beats_a_better_placed_one():
    # A row of 8 with A4 taken: A2 A3 strands A1; A5 A6 strands nobody.
    assert stranded_seats(spots_of(["s" * 8], {"A4"}), ["A2", "A3"]) == ["A1"]
    assert best(["s" * 8], 2, {"A4"}) == ("A5", "A6")
    # When every block strands someone, the best placed one is still offered (no rule here).
    assert stranded_seats(spots_of(["ssss"], {"A4"}), ["A1", "A2"]) == ["A3"]
    assert best(["ssss"], 2, {"A4"}) == ("A2", "A3")


def test_kinds():
    layout = ["sspp", "wcwc"]
    assert best(layout, 4) == ("A1", "A2", "A3", "A4")  # standard and premium mix by default
    assert best(layout, 1, kinds={"wheelchair"}) in (("B1",), ("B3",))
    assert best(layout, 2, kinds={"premium"}) == ("A3", "A4")
    assert best(layout, 1, kinds={"companion"}) is not None  # asked for explicitly only


def test_stranding_counts_only_new_lone_seats():
    # A1 was alone already (A2 taken): holding A3 does not strand it anew.
    assert stranded_in_row({1, 3, 4}, [4]) == [3]
    assert stranded_in_row({1, 3}, [3]) == []
    assert stranded_in_row({1, 2, 3}, [2]) == [1, 3]


def test_pick_spreads_retries_among_the_best_but_never_to_a_stranding_block():
    blocks = ranked_blocks(spots_of(["s" * 12] * 10), 2, rows=10)
    assert pick(blocks, 0, random.Random(1)).labels == ("G6", "G7")
    chosen = {pick(blocks, 3, random.Random(seed)).labels for seed in range(200)}
    assert len(chosen) > 1
    assert all(not b.strands for b in blocks[:16])


# --- properties -------------------------------------------------------------------------

layouts = st.lists(
    st.text(alphabet="ssspw.", min_size=1, max_size=14).filter(lambda row: row.strip(".")),
    min_size=1,
    max_size=8,
)


@st.composite
def scenes(draw):
    layout = draw(layouts)
    labels = [s.label for s in parse_layout(layout).seats]
    taken = set(draw(st.lists(st.sampled_from(labels), max_size=len(labels))))
    quantity = draw(st.integers(min_value=1, max_value=4))
    kinds = draw(st.sampled_from([DEFAULT_KINDS, frozenset({"wheelchair"}), frozenset({"premium"})]))
    return layout, taken, quantity, kinds


@settings(max_examples=300, deadline=None)
@given(scenes())
def test_every_ranked_block_is_adjacent_free_and_of_allowed_kinds(scene):
    layout, taken, quantity, kinds = scene
    spots = {s.label: s for s in spots_of(layout, taken)}
    blocks = ranked_blocks(spots.values(), quantity, rows=len(layout), kinds=kinds, row_widths=widths(layout))
    for block in blocks:
        seats = [spots[label] for label in block.labels]
        assert len(seats) == quantity
        assert len({s.row for s in seats}) == 1
        assert [s.column for s in seats] == list(range(seats[0].column, seats[0].column + quantity))
        assert all(s.free and s.kind in kinds for s in seats)
        assert list(block.strands) == stranded_seats(spots.values(), block.labels)


@settings(max_examples=300, deadline=None)
@given(scenes())
def test_the_best_block_strands_nobody_when_some_block_does_not(scene):
    layout, taken, quantity, kinds = scene
    spots = spots_of(layout, taken)
    blocks = ranked_blocks(spots, quantity, rows=len(layout), kinds=kinds, row_widths=widths(layout))
    if any(not b.strands for b in blocks):
        assert not blocks[0].strands
        assert not stranded_seats(spots, blocks[0].labels)
    # Every block of adjacent free seats of those kinds is found (checked by brute force).
    found = {b.labels for b in blocks}
    by_row: dict[str, dict[int, Spot]] = {}
    for spot in spots:
        by_row.setdefault(spot.row, {})[spot.column] = spot
    for row in by_row.values():
        for start in row:
            run = [row.get(start + i) for i in range(quantity)]
            if all(s is not None and s.free and s.kind in kinds for s in run):
                assert tuple(s.label for s in run) in found


@settings(max_examples=300, deadline=None)
@given(scenes(), st.data())
def test_a_stranded_seat_is_free_alone_after_and_was_not_before(scene, data):
    layout, taken, _, _ = scene
    spots = spots_of(layout, taken)
    free = [s.label for s in spots if s.free]
    if not free:
        return
    holding = data.draw(st.lists(st.sampled_from(free), min_size=1, max_size=4, unique=True))
    at = {(s.row, s.column): s for s in spots}

    def alone(spot: Spot, away: set[str]) -> bool:
        def open_(column: int) -> bool:
            n = at.get((spot.row, column))
            return n is not None and n.free and n.label not in away

        return open_(spot.column) and not open_(spot.column - 1) and not open_(spot.column + 1)

    stranded = set(stranded_seats(spots, holding))
    for spot in spots:
        expected = alone(spot, set(holding)) and not alone(spot, set())
        assert (spot.label in stranded) == expected, (spot.label, holding)


@settings(max_examples=300, deadline=None)
@given(scenes(), st.integers(min_value=1, max_value=8))
def test_a_limited_ranking_starts_like_the_full_one(scene, limit):
    """``limit`` stops at the rows a pick needs: the blocks it returns that strand nobody are the
    full ranking's first ones, in the same order, and at least ``limit`` of them when there are."""
    layout, taken, quantity, kinds = scene
    spots = spots_of(layout, taken)

    def clean(limit: int | None) -> list:
        blocks = ranked_blocks(
            spots, quantity, rows=len(layout), kinds=kinds, row_widths=widths(layout), limit=limit
        )
        return [b for b in blocks if not b.strands]

    full, limited = clean(None), clean(limit)
    assert limited == full[: len(limited)]
    assert len(limited) >= min(limit, len(full))
