"""Auditoriums (named, reusable seat plans) and the plan a new show gets.

No Flask here: callers pass a session and own the transaction (nothing here
commits). Layouts are read by ``webapp.seatplan``; the errors raised are the
same ``ValidationFailed`` the validators raise, so a bad plan is a 422 with
``errors.layout`` / ``errors.auditorium_id`` / ``errors.prices`` wherever it
comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..jsonutil import dumps
from ..seatplan import LayoutError, SeatPlan, missing_prices, parse_layout, rectangle_layout
from .errors import AuditoriumNotFound, ValidationFailed


def auditorium_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "layout": list(row.layout),
        "capacity": parse_layout(list(row.layout)).capacity,
    }


def create_auditorium(session: Session, *, name: str, plan: SeatPlan) -> dict[str, Any]:
    """Store a named plan. Names are unique, ignoring case (422 errors.name otherwise)."""
    try:
        with session.begin_nested():
            row = session.execute(
                text(
                    """
                    INSERT INTO auditoriums (name, layout) VALUES (:name, CAST(:layout AS jsonb))
                    RETURNING id, name, layout
                    """
                ),
                {"name": name, "layout": dumps(list(plan.layout)).decode()},
            ).one()
    except IntegrityError:
        raise ValidationFailed({"name": f"an auditorium named {name!r} exists already"}) from None
    return auditorium_json(row)


def list_auditoriums(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(text("SELECT id, name, layout FROM auditoriums ORDER BY lower(name), id"))
    return [auditorium_json(row) for row in rows]


def get_auditorium(session: Session, auditorium_id: int) -> dict[str, Any]:
    row = session.execute(
        text("SELECT id, name, layout FROM auditoriums WHERE id = :id"), {"id": auditorium_id}
    ).one_or_none()
    if row is None:
        raise AuditoriumNotFound(f"There is no auditorium {auditorium_id}.")
    return auditorium_json(row)


@dataclass(frozen=True)
class ShowPlan:
    """What a new show is built from: its own copy of a plan, and where it came from."""

    plan: SeatPlan
    auditorium_id: int | None = None
    auditorium_name: str | None = None


def resolve_show_plan(
    session: Session,
    *,
    rows: int | None = None,
    seats_per_row: int | None = None,
    layout: list[str] | None = None,
    auditorium_id: int | None = None,
    prices: dict[str, int] | None = None,
) -> ShowPlan:
    """The plan of a show about to be created (a rectangle, its own layout, or an
    auditorium's, copied), checked against its prices: when a show is priced,
    every kind of seat in its plan needs a price."""
    if auditorium_id is not None:
        try:
            found = get_auditorium(session, auditorium_id)
        except AuditoriumNotFound:
            raise ValidationFailed({"auditorium_id": f"there is no auditorium {auditorium_id}"}) from None
        show_plan = ShowPlan(parse_layout(found["layout"]), auditorium_id, found["name"])
    elif layout is not None:
        try:
            show_plan = ShowPlan(parse_layout(layout))
        except LayoutError as exc:
            raise ValidationFailed({"layout": str(exc)}) from None
    elif rows is not None and seats_per_row is not None:
        show_plan = ShowPlan(parse_layout(rectangle_layout(rows, seats_per_row)))
    else:
        raise ValidationFailed({"layout": "give rows and seats_per_row, a layout, or an auditorium_id"})
    if prices is not None:
        missing = missing_prices(show_plan.plan, prices)
        if missing:
            raise ValidationFailed(
                {"prices": f"no price for {', '.join(missing)}: every kind of seat in the plan needs one"}
            )
    return show_plan


def show_currency(session: Session, show_id: int) -> str | None:
    """The currency a show's prices are in (None when unpriced), for drawing its
    seat map from a cached seat listing, which carries prices but no currency."""
    return session.execute(text("SELECT currency FROM shows WHERE id = :id"), {"id": show_id}).scalar()
