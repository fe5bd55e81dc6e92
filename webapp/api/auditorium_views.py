"""JSON endpoints for auditoriums (named seat plans), admin only."""

from __future__ import annotations

from flask import Response, url_for

from .. import auditoriums, errors
from ..auth import require_admin
from ..extensions import db
from ..validation import MAX_ID, validate_auditorium
from . import bp
from .views import json_body, json_response


def _auditorium_id(raw: str) -> int:
    if len(raw) <= len(str(MAX_ID)) and raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise errors.AuditoriumNotFound(f"There is no auditorium {raw[:40]!r}.")


@bp.get("/auditoriums")
def list_auditoriums() -> Response:
    require_admin()
    return json_response({"auditoriums": auditoriums.list_auditoriums(db.session)})


@bp.post("/auditoriums")
def create_auditorium() -> Response:
    require_admin()
    name, plan = validate_auditorium(json_body())
    created = auditoriums.create_auditorium(db.session, name=name, plan=plan)
    db.session.commit()
    return json_response(created, 201, Location=url_for(".auditorium", auditorium_id=created["id"]))


@bp.get("/auditoriums/<auditorium_id>")
def auditorium(auditorium_id: str) -> Response:
    require_admin()
    return json_response(auditoriums.get_auditorium(db.session, _auditorium_id(auditorium_id)))
