"""JSON endpoints for auditoriums (named seat plans), admin only; on the API's
blueprint, in the style of views.py: parse into a model, call the service, answer through a model."""

from __future__ import annotations

from flask import Response, url_for

from .. import limits
from ..auth import require_admin
from ..booking import auditoriums
from ..booking.errors import AuditoriumNotFound
from ..extensions import db
from ..seatplan import parse_layout
from ..validation import MAX_ID
from .auditorium_schemas import Auditorium, AuditoriumList, NewAuditorium
from .schemas import parse_body
from .views import answer, bp, json_body


def _auditorium_id(raw: str) -> int:
    """An auditorium id from a URL; anything that is not one is simply not found."""
    if len(raw) <= len(str(MAX_ID)) and raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise AuditoriumNotFound(f"There is no auditorium {raw[:40]!r}.")


@bp.get("/auditoriums")
@limits.sign_in_failures
def list_auditoriums() -> Response:
    require_admin()
    return answer(AuditoriumList, {"auditoriums": auditoriums.list_auditoriums(db.session)})


@bp.post("/auditoriums")
@limits.sign_in_failures
def create_auditorium() -> Response:
    require_admin()
    new = parse_body(NewAuditorium, json_body())
    created = auditoriums.create_auditorium(db.session, name=new.name, plan=parse_layout(new.layout))
    db.session.commit()
    return answer(Auditorium, created, 201, Location=url_for(".auditorium", auditorium_id=created["id"]))


@bp.get("/auditoriums/<auditorium_id>")
@limits.sign_in_failures
def auditorium(auditorium_id: str) -> Response:
    require_admin()
    return answer(Auditorium, auditoriums.get_auditorium(db.session, _auditorium_id(auditorium_id)))
