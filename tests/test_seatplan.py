"""webapp/seatplan.py and webapp/money.py: pure, so no database or app here."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.money import format_money, minor_unit_digits
from webapp.seatplan import (
    KIND_BY_CHAR,
    LayoutError,
    SeatKind,
    missing_prices,
    parse_layout,
    rectangle_layout,
)

rows = st.text(alphabet="spwc.", min_size=1, max_size=50)
layouts = st.lists(rows, min_size=1, max_size=26).filter(lambda layout: any(set(r) - {"."} for r in layout))


def test_numbers_skip_gaps_and_columns_count_them():
    plan = parse_layout(["ss.ss", ".p.w.c"])
    assert [(s.label, s.column, s.kind) for s in plan.seats] == [
        ("A1", 1, SeatKind.STANDARD),
        ("A2", 2, SeatKind.STANDARD),
        ("A3", 4, SeatKind.STANDARD),
        ("A4", 5, SeatKind.STANDARD),
        ("B1", 2, SeatKind.PREMIUM),
        ("B2", 4, SeatKind.WHEELCHAIR),
        ("B3", 6, SeatKind.COMPANION),
    ]
    assert plan.rows == 2
    assert plan.seats_per_row == 6
    assert plan.capacity == 7
    assert plan.kinds == {"standard", "premium", "wheelchair", "companion"}


def test_a_rectangle_is_rows_of_standard_seats():
    plan = parse_layout(rectangle_layout(10, 12))
    assert plan.capacity == 120
    assert plan.seats_per_row == 12
    assert plan.seats[-1].label == "J12"
    assert {seat.kind for seat in plan.seats} == {SeatKind.STANDARD}


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (None, "must be a list"),
        ([], "must be a list"),
        ("ss", "must be a list"),
        (["s"] * 27, "at most 26"),
        (["ss", 3], "row B (item 2) must be a string"),
        (["ss", ""], "row B is empty"),
        (["s" * 51], "row A has 51 positions"),
        (["ss", "ss.x"], "row B, position 4: 'x' is not a seat"),
        (["S"], "row A, position 1: 'S' is not a seat"),
        (["s\n"], "row A, position 2: 'U+000A' is not a seat"),
        (["...", ".."], "has no seats"),
    ],
)
def test_malformed_layouts_say_where(layout, message):
    with pytest.raises(LayoutError, match=re.escape(message)):
        parse_layout(layout)


@settings(deadline=None)
@given(layouts)
def test_every_seat_is_where_the_layout_says(layout):
    plan = parse_layout(layout)
    for seat in plan.seats:
        row = layout[ord(seat.row) - ord("A")]
        assert KIND_BY_CHAR[row[seat.column - 1]] == seat.kind
        # The number is the count of seats up to and including this position.
        assert seat.number == sum(ch != "." for ch in row[: seat.column])
    assert plan.capacity == sum(ch != "." for row in layout for ch in row)
    assert len({seat.label for seat in plan.seats}) == plan.capacity
    assert plan.seats_per_row == max(map(len, layout))


@settings(deadline=None)
@given(layouts)
def test_numbers_run_from_one_without_holes_in_each_row(layout):
    plan = parse_layout(layout)
    by_row: dict[str, list[int]] = {}
    for seat in plan.seats:
        by_row.setdefault(seat.row, []).append(seat.number)
    for numbers in by_row.values():
        assert numbers == list(range(1, len(numbers) + 1))


@settings(deadline=None)
@given(layouts, st.sets(st.sampled_from(["standard", "premium", "wheelchair", "companion"])))
def test_missing_prices_are_exactly_the_unpriced_kinds(layout, priced):
    plan = parse_layout(layout)
    prices = {kind: 100 for kind in priced}
    assert set(missing_prices(plan, prices)) == plan.kinds - priced


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(1400, "EUR", "€14.00"), (950, "USD", "$9.50"), (1400, "JPY", "¥1,400"), (1234, "KWD", "KWD1.234")],
)
def test_money_respects_each_currencys_minor_unit(amount, currency, text):
    assert format_money(amount, currency) == text


def test_no_price_formats_as_nothing():
    assert format_money(None, "EUR") == ""
    assert format_money(100, None) == ""
    assert minor_unit_digits("JPY") == 0
