"""The web pages. The routes live in ``views``, on its blueprint; ``templating`` adds the template helpers."""

from . import templating  # noqa: F401  - registers the template helpers on bp
from .views import bp

__all__ = ["bp"]
