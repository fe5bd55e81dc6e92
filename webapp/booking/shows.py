"""Creating a show and all of its seats in one statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..events import mark_seats_changed
from ..models import Show
from ..money import DEFAULT_CURRENCY
from .auditoriums import resolve_show_plan
from .queries import get_show


def create_show(
    session: Session,
    *,
    title: str,
    starts_at: datetime,
    rows: int | None = None,
    seats_per_row: int | None = None,
    auditorium: str | None = None,
    layout: list[str] | None = None,
    auditorium_id: int | None = None,
    prices: dict[str, int] | None = None,
    currency: str | None = None,
    no_single_seat_gaps: bool = False,
) -> dict[str, Any]:
    """The new show as ``get_show`` returns it, built from a rectangle, its own
    layout, or an auditorium's (copied onto the show). Seats are labelled A1,
    A2, ... by row letter, numbered from the left skipping gaps. Each seat gets
    a copy of its kind's price, so a hold sums its total from the very rows it locks."""
    if prices is not None and currency is None:
        currency = DEFAULT_CURRENCY  # documented in the OpenAPI description of NewShow
    show_plan = resolve_show_plan(
        session,
        rows=rows,
        seats_per_row=seats_per_row,
        layout=layout,
        auditorium_id=auditorium_id,
        prices=prices,
    )
    plan = show_plan.plan
    show = Show(
        title=title,
        starts_at=starts_at,
        auditorium=auditorium if auditorium is not None else show_plan.auditorium_name,
        rows=plan.rows,
        seats_per_row=plan.seats_per_row,
        layout=list(plan.layout),
        prices=prices,
        currency=currency,
        auditorium_id=show_plan.auditorium_id,
        no_single_seat_gaps=no_single_seat_gaps,
    )
    session.add(show)
    session.flush()
    session.execute(
        text(
            """
            INSERT INTO seats (show_id, row, number, col, kind, price)
            SELECT :show_id, p.row, p.number, p.col, p.kind, p.price
            FROM unnest(CAST(:rows AS text[]), CAST(:numbers AS smallint[]), CAST(:cols AS smallint[]),
                        CAST(:kinds AS text[]), CAST(:prices AS integer[]))
                 AS p(row, number, col, kind, price)
            ORDER BY p.row, p.number
            """
        ),
        {
            "show_id": show.id,
            "rows": [seat.row for seat in plan.seats],
            "numbers": [seat.number for seat in plan.seats],
            "cols": [seat.column for seat in plan.seats],
            "kinds": [seat.kind.value for seat in plan.seats],
            "prices": [None if prices is None else prices[seat.kind.value] for seat in plan.seats],
        },
    )
    mark_seats_changed(session, show.id)
    return get_show(session, show.id)
