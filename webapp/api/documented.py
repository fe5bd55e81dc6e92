"""Every model that appears in the OpenAPI document (webapp/api/openapi.py), in its order."""

from __future__ import annotations

from pydantic import BaseModel

from .auditorium_schemas import Auditorium, AuditoriumList, NewAuditorium
from .report_schemas import Revenue, ShowReport
from .schemas import (
    Booking,
    BookingList,
    Health,
    HoldRequest,
    HoldResponse,
    NewShow,
    Problem,
    Readiness,
    Seat,
    SeatList,
    SeatStats,
    Show,
    ShowList,
)

#: Every model that appears in the OpenAPI document, in its order.
DOCUMENTED: tuple[type[BaseModel], ...] = (
    SeatStats,
    Show,
    ShowList,
    Seat,
    SeatList,
    Booking,
    BookingList,
    HoldResponse,
    Revenue,
    ShowReport,
    NewShow,
    HoldRequest,
    NewAuditorium,
    Auditorium,
    AuditoriumList,
    Problem,
    Health,
    Readiness,
)
