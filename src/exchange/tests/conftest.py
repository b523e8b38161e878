"""Fixtures shared by the exchange's test modules."""

from .test_reading import world  # noqa: F401 — a resource with people, a consumer and its grant
