"""The web pages: routes in ``views`` and ``booking_views`` (one blueprint), helpers in ``templating``."""

from . import booking_views, templating  # noqa: F401  - register their routes and helpers on bp
from .views import bp

__all__ = ["bp"]
