"""The admin pages."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

# Importing the view modules registers their routes on bp; auditoriums are issue 11's.
from . import auditorium_views, views  # noqa: E402,F401
