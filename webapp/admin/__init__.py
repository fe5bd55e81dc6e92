"""The admin pages. The routes live in ``views``, on its blueprint."""

from . import (
    auditorium_views,  # noqa: F401  - registers the auditorium pages on bp
    checkin_views,  # noqa: F401  - registers the door page on bp
    operations_views,  # noqa: F401  - registers show cancel, booking cancel, CSV on bp
)
from .views import bp

__all__ = ["bp"]
