"""Fixtures shared by the exchange's test modules."""

from .test_gateway import client_token, wsgi  # noqa: E402,F401 — the WSGI application and a query token
from .test_reading import world  # noqa: F401 — a resource with people, a consumer and its grant
