"""Creating a show and all of its seats in one statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..events import mark_seats_changed
from ..models import Show
from .queries import get_show


def create_show(
    session: Session,
    *,
    title: str,
    starts_at: datetime,
    rows: int,
    seats_per_row: int,
    auditorium: str | None = None,
) -> dict[str, Any]:
    """The new show as ``get_show`` returns it; seats are labelled A1, A2, ... by row letter."""
    show = Show(
        title=title,
        starts_at=starts_at,
        auditorium=auditorium,
        rows=rows,
        seats_per_row=seats_per_row,
    )
    session.add(show)
    session.flush()
    session.execute(
        text(
            """
            INSERT INTO seats (show_id, row, number)
            SELECT :show_id, chr(64 + r), n
            FROM generate_series(1, :rows) r, generate_series(1, :per_row) n
            ORDER BY r, n
            """
        ),
        {"show_id": show.id, "rows": rows, "per_row": seats_per_row},
    )
    mark_seats_changed(session, show.id)
    return get_show(session, show.id)
