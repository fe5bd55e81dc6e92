"""Moviegoer pages."""

from __future__ import annotations

from flask import render_template

from .. import bookings
from ..extensions import db
from . import bp


@bp.get("/")
def index() -> str:
    return render_template("index.html", shows=bookings.list_upcoming_shows(db.session))
