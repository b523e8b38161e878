"""Authentication backend with account+IP lockout (等保 level 3).

After ``GOVHUB_LOCKOUT_FAILURES`` failed attempts within ``GOVHUB_LOCKOUT_MINUTES`` for one
username from one IP, that pair is locked for ``GOVHUB_LOCKOUT_MINUTES`` (or until a security
admin releases it). Every failure is kept in the login history and the audit trail.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from core.middleware import client_ip


class LockoutModelBackend(ModelBackend):
    """ModelBackend that refuses accounts locked after repeated failures."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        from . import services

        if username is None:
            username = kwargs.get("username")
        if not username or password is None:
            return None
        ip = client_ip(request) if request is not None else None
        if services.active_lockout(username=username, ip=ip) is not None:
            services.login_failed(username=username, request=request, locked=True)
            # PermissionDenied stops Django from trying further backends.
            raise PermissionDenied("locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or user.is_service_account:
            services.login_failed(username=username, request=request)
            return None
        return user
