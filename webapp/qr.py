"""QR codes of ticket codes, drawn by segno: SVG for the pages, PNG for the e-mail.

Why segno: it writes both formats itself, with no Pillow and no native
code, and is small and well kept. Pure: no Flask, no database.

A QR code holds just the ticket code (32 URL-safe characters), so any door
scanner reads it as the text the door page and POST /api/checkins take.
"""

from __future__ import annotations

import io

import segno

#: Medium error correction (segno raises it when the symbol has room): survives a scratched phone screen.
_ERROR = "m"


def _qr(code: str) -> segno.QRCode:
    return segno.make_qr(code, error=_ERROR)


def ticket_svg(code: str, label: str) -> str:
    """An inline <svg> (no XML declaration, no fixed size: CSS sizes it) with an accessible name."""
    return _qr(code).svg_inline(
        scale=1,
        border=4,
        omitsize=True,
        dark="#000",
        light="#fff",
        title=f"QR code of the ticket for seat {label}",
        svgclass="qr",
    )


def ticket_png(code: str, scale: int = 6) -> bytes:
    """A PNG of the code's QR, for e-mail (black on white, four modules of quiet zone)."""
    out = io.BytesIO()
    _qr(code).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
