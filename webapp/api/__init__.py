"""The JSON API under /api. The routes live in ``views``, on its blueprint."""

from .views import bp

__all__ = ["bp"]
