"""Admin pages for running a show: cancel it (with a confirmation step), cancel any
booking, and export its bookings as CSV. The report itself is drawn on the show's
admin page (``views.show_bookings``).

Plain forms, no htmx: each action is a deliberate POST with its CSRF token, and
the pages work the same without JavaScript.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, flash, redirect, request, url_for

from ..booking import report, settle
from ..booking.queries import get_show
from ..extensions import db
from ..services import cancel_show_and_commit, settle_and_commit
from ..validation import parse_booking_id, parse_show_id
from .views import _page, admin_required, bp

#: What a spreadsheet would read as a formula (or a control character ahead of one).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("id", "status", "seats", "total", "email", "created", "confirmed", "cancelled")


def defuse(value: Any) -> str:
    """A cell a spreadsheet shows as text: a leading apostrophe before = + - @ tab or CR.

    E-mail addresses are the visitor's own words, so an address like
    ``=HYPERLINK(...)@x.org`` must not run when the export is opened.
    """
    cell = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


@bp.get("/shows/<show_id>/cancel")
@admin_required
def confirm_cancel_show(show_id: str) -> Response:
    """The confirmation step: what cancelling will do, and the button that does it."""
    sid = parse_show_id(show_id)
    return _page(
        "admin/cancel_show.html", show=get_show(db.session, sid), report=report.show_report(db.session, sid)
    )


@bp.post("/shows/<show_id>/cancel")
@admin_required
def cancel_a_show(show_id: str) -> Response:
    sid = parse_show_id(show_id)
    show = cancel_show_and_commit(sid)
    flash(f"Cancelled show {show['id']}: {show['title']}. Its bookers are being told by e-mail.", "success")
    return redirect(url_for(".show_bookings", show_id=sid), code=303)


@bp.post("/bookings/<booking_id>/cancel")
@admin_required
def cancel_a_booking(booking_id: str) -> Response:
    """Cancel any booking (the admin's own authority, no booking token), then back to its show."""
    bid = parse_booking_id(booking_id)
    settled = settle_and_commit(
        lambda session, b, token: settle.cancel_booking(session, b, token, as_admin=True), bid, None
    )
    if settled.error is not None:
        flash(settled.error.detail, "error")
        show_id = request.form.get("show_id", "")
    else:
        assert settled.booking is not None
        flash(f"Cancelled booking {settled.booking['id'][:8]}; its seats are free again.", "success")
        show_id = str(settled.booking["show_id"])
    if not show_id.isdigit():
        return redirect(url_for(".index"), code=303)
    return redirect(url_for(".show_bookings", show_id=show_id), code=303)


@bp.get("/shows/<show_id>/bookings.csv")
@admin_required
def bookings_csv(show_id: str) -> Response:
    """One row per booking; cells that a spreadsheet would run as formulas are defused."""
    sid = parse_show_id(show_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in report.export_bookings(db.session, sid):
        cells = (row.id, row.status, " ".join(row.seats), row.total, row.email,
                 row.created_at, row.confirmed_at, row.cancelled_at)  # fmt: skip
        writer.writerow(defuse(cell) for cell in cells)
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="show-{sid}-bookings.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
