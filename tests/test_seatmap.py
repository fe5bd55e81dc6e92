"""The seat map's pure parts: reading labels from forms, the no-JavaScript selection, the view, ETags."""

from __future__ import annotations

from typing import Any

from webapp.web.seatmap import build_seat_map, parse_labels, resolve_selection, seat_map_etag


def seats(**statuses: str) -> list[dict[str, Any]]:
    """Seats in row-major order, AVAILABLE unless named: ``seats(A2="HELD")`` for a 2 x 3 show."""
    return [
        {"seat": f"{row}{n}", "row": row, "number": n, "status": statuses.get(f"{row}{n}", "AVAILABLE")}
        for row in "AB"
        for n in (1, 2, 3)
    ]


def test_parse_labels_takes_repeated_and_comma_separated_values() -> None:
    assert parse_labels(["a1, B2", "C3", "A1"]) == ["A1", "B2", "C3"]


def test_parse_labels_drops_junk_and_stops_at_the_limit() -> None:
    assert parse_labels(["", "A0", "AA1", "1A", "x", "A100"]) == []
    assert parse_labels(["A1,A2,A3"], limit=2) == ["A1", "A2"]
    assert parse_labels(["A1," * 5000]) == ["A1"]  # long input is cut, not a 500


def test_selection_keeps_only_available_seats_and_reports_the_lost() -> None:
    selection = resolve_selection(seats(A2="HELD", B1="BOOKED"), ["A1", "A2", "B1", "Z9"], None, 10)
    assert selection.labels == ["A1"]
    assert selection.lost == ["A2", "B1"]
    assert selection.notice is None


def test_toggle_adds_and_removes_a_seat() -> None:
    assert resolve_selection(seats(), ["A1"], "A2", 10).labels == ["A1", "A2"]
    assert resolve_selection(seats(), ["A1", "A2"], "A1", 10).labels == ["A2"]
    assert resolve_selection(seats(), ["A1"], "Z9", 10).labels == ["A1"]  # not a seat: ignored


def test_toggle_of_a_taken_seat_or_beyond_the_limit_explains_why() -> None:
    taken = resolve_selection(seats(B3="BOOKED"), [], "B3", 10)
    assert taken.labels == []
    assert taken.notice == "Seat B3 is booked; pick an available seat."
    full = resolve_selection(seats(), ["A1", "A2"], "A3", 2)
    assert full.labels == ["A1", "A2"]
    assert full.notice == "You can hold at most 2 seats in one booking."


def test_seat_map_groups_rows_and_counts_statuses() -> None:
    seat_map = build_seat_map(seats(A2="HELD", B1="BOOKED"), selected=["A1", "A2"], conflicts=["A2"])
    assert [row for row, _ in seat_map.rows] == ["A", "B"]
    assert seat_map.seats_per_row == 3
    assert seat_map.counts == {"AVAILABLE": 4, "HELD": 1, "BOOKED": 1}
    a1, a2, _ = seat_map.rows[0][1]
    assert a1.selected and not a1.conflict
    assert not a2.selected and a2.conflict  # a held seat is never shown selected
    assert a2.accessible_name == "Row A, seat 2, held"


def test_an_empty_show_has_an_empty_map() -> None:
    seat_map = build_seat_map([])
    assert (seat_map.rows, seat_map.seats_per_row) == ([], 0)


def test_etag_changes_with_the_seats_and_with_each_variant() -> None:
    base = seat_map_etag("state-1")
    assert base == seat_map_etag("state-1")
    assert base != seat_map_etag("state-2")
    assert base != seat_map_etag("state-1", ["A1"])
    assert seat_map_etag("state-1", ["A1"], []) != seat_map_etag("state-1", [], ["A1"])
