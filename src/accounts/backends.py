"""Authentication backend with account+IP lockout (filled by the login-security work)."""

from django.contrib.auth.backends import ModelBackend


class LockoutModelBackend(ModelBackend):
    """ModelBackend that refuses accounts locked after repeated failures."""
