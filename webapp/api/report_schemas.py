"""The shapes of the operators' endpoints: a show's report (GET /api/shows/{id}/report).

Kept beside webapp/api/schemas.py, built the same way from its ``Shape``.
"""

from __future__ import annotations

from pydantic import Field

from .fields import SeatKind, Total, TotalCurrency
from .schemas import Shape


class Revenue(Shape):
    """What the confirmed bookings were charged, in minor units; null/empty for an unpriced show."""

    total: Total
    currency: TotalCurrency
    by_kind: dict[SeatKind, int] = Field(description="The total split by seat kind (seat prices held).")


class ShowReport(Shape):
    """A show's figures; lapsed holds count as available."""

    capacity: int = Field(ge=0)
    sold: int = Field(ge=0)
    held: int = Field(ge=0)
    available: int = Field(ge=0)
    checked_in: int = Field(ge=0)
    revenue: Revenue
