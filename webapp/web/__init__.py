"""The web pages."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import templating, views  # noqa: E402,F401  - registers the routes and template helpers on bp
