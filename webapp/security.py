"""Security headers on every response, pages and API alike.

The pages are built so that this policy costs nothing: no inline scripts, no
inline styles, no third-party origins (htmx is served from ``static/``). A
strict policy therefore turns any injected markup into inert text instead of
running code.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Booking pages carry a UUID in their path; never leak it to other sites.
    "Referrer-Policy": "same-origin",
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


HSTS = ("Strict-Transport-Security", "max-age=31536000")


def wants_hsts(app_env: str | None, is_secure: bool) -> bool:
    return app_env == "production" and is_secure


def add_security_headers(response: Response) -> Response:
    # setdefault: a view that needs something different can still say so.
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if wants_hsts(current_app.config["APP_ENV"], request.is_secure):
        response.headers.setdefault(*HSTS)
    return response


def init_security(app: Flask) -> None:
    app.after_request(add_security_headers)
