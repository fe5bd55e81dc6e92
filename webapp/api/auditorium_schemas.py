"""The shapes of the auditorium endpoints (named seat plans), apart from
schemas.py so that each stays short; built the same way, from the same field types."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from ..validation import clean_text
from .fields import TEXT_PATTERN, Layout, LayoutInput, checked
from .schemas import RequestBody, Shape, ShowId


class NewAuditorium(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Screen 1", "layout": ["ssss.ssss", "pppp.pppp", "wcss.sscw"]}]
        },
    )

    name: str = Field(
        min_length=1,
        max_length=100,
        description="Unique, ignoring case (a taken name is 422 errors.name).",
        json_schema_extra={"pattern": TEXT_PATTERN},
    )
    layout: LayoutInput

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return checked(clean_text, value, 100)


class Auditorium(Shape):
    """A named seat plan that shows can be created in."""

    id: ShowId
    name: str = Field(min_length=1, max_length=100)
    layout: Layout
    capacity: int = Field(ge=1, description="Number of seats.")


class AuditoriumList(Shape):
    auditoriums: list[Auditorium]
