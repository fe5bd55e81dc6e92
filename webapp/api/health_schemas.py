"""The shapes of /healthz and /readyz, apart from schemas.py so that each stays short.

Written by webapp/health.py, which stays free of the API's models; these
only describe its answers in the OpenAPI document.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .schemas import Shape


class Health(Shape):
    """Written by webapp/health.py, which stays free of the API's models."""

    status: Literal["ok"]


class ReadinessChecks(Shape):
    postgresql: str = Field(json_schema_extra={"pattern": "^(ok|down: .+)$"})
    redis: str = Field(json_schema_extra={"pattern": "^(ok|down: .+)$"})


class Readiness(Shape):
    status: Literal["ok", "unavailable"]
    checks: ReadinessChecks
