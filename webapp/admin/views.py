"""Admin pages, behind ADMIN_TOKEN."""

from __future__ import annotations

from . import bp  # noqa: F401
