"""The JSON API under /api."""

from flask import Blueprint

bp = Blueprint("api", __name__)

# Importing the view modules registers their routes on bp; seat plans are issue 11's.
from . import auditorium_views, views  # noqa: E402,F401
