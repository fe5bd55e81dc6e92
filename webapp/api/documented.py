"""Every model that appears in the OpenAPI document (webapp/api/openapi.py), in its order."""

from __future__ import annotations

from pydantic import BaseModel

from .auditorium_schemas import Auditorium, AuditoriumList, NewAuditorium
from .health_schemas import Health, Readiness
from .hold_schemas import HoldRequest
from .report_schemas import Revenue, ShowReport
from .schemas import (
    Booking,
    BookingList,
    HoldResponse,
    NewShow,
    Problem,
    Seat,
    SeatList,
    SeatStats,
    Show,
    ShowList,
    ShowStats,
    Ticket,
)
from .ticket_schemas import CheckinRequest, CheckinResult

#: Every model that appears in the OpenAPI document, in its order.
DOCUMENTED: tuple[type[BaseModel], ...] = (
    SeatStats,
    ShowStats,
    Show,
    ShowList,
    Seat,
    SeatList,
    Ticket,
    Booking,
    BookingList,
    HoldResponse,
    Revenue,
    ShowReport,
    NewShow,
    HoldRequest,
    CheckinRequest,
    CheckinResult,
    NewAuditorium,
    Auditorium,
    AuditoriumList,
    Problem,
    Health,
    Readiness,
)
