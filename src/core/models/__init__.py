"""Core models, one module per subsystem (calendar, deadlines, audit, notifications, jobs)."""

from .audit import AuditEvent  # noqa: F401
from .calendar import *  # noqa: F401,F403
from .deadline import *  # noqa: F401,F403
from .job import *  # noqa: F401,F403
from .notification import *  # noqa: F401,F403
from .ratelimit import RateWindow  # noqa: F401
