"""Admin pages for auditoriums: a layout editor with a live preview
(webapp/admin/plan_form.py draws it). One partial, ``admin/_plan_preview.html``,
serves both the page and htmx's update of it.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, make_response, redirect, render_template, request, url_for

from ..api.auditorium_schemas import NewAuditorium
from ..api.schemas import parse_body
from ..booking import auditoriums
from ..booking.errors import ValidationFailed
from ..caching import no_store
from ..extensions import db
from ..seatplan import parse_layout
from .plan_form import layout_from_text, plan_preview
from .views import _page, admin_required, bp


def _auditoriums_page(
    form: dict[str, str] | None = None, form_errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    form = form or {"name": "", "layout": ""}
    return _page(
        "admin/auditoriums.html",
        status,
        auditoriums=auditoriums.list_auditoriums(db.session),
        form=form,
        form_errors=form_errors or {},
        **plan_preview(form.get("layout", "")),
    )


@bp.get("/auditoriums")
@admin_required
def auditoriums_page() -> Response:
    return _auditoriums_page()


@bp.post("/auditoriums/preview")
@admin_required
def auditorium_preview() -> Response:
    """The live preview as the layout is typed: the partial alone for htmx, else the whole page."""
    form = {"name": request.form.get("name", ""), "layout": request.form.get("layout", "")}
    if request.headers.get("HX-Request"):
        return no_store(
            make_response(render_template("admin/_plan_preview.html", **plan_preview(form["layout"])))
        )
    return _auditoriums_page(form)


@bp.post("/auditoriums")
@admin_required
def create_auditorium() -> Response:
    form = {"name": request.form.get("name", ""), "layout": request.form.get("layout", "")}
    body: dict[str, Any] = {"name": form["name"], "layout": layout_from_text(form["layout"])}
    try:
        new = parse_body(NewAuditorium, body)
        created = auditoriums.create_auditorium(db.session, name=new.name, plan=parse_layout(new.layout))
    except ValidationFailed as exc:
        db.session.rollback()
        return _auditoriums_page(form, exc.extras["errors"], status=422)
    db.session.commit()
    flash(f"Created auditorium {created['name']} ({created['capacity']} seats).", "success")
    return redirect(url_for(".auditoriums_page"), code=303)
