"""API token authentication for integrator systems (系统对接, S§31, S§34-36).

``Authorization: Bearer <token>``. The token is looked up by its SHA-256 hash; an unknown,
expired or revoked token, an inactive client or an inactive unit gives 401 in the one error
shape. On success the caller is the client's service user (``api-<id>``), ``request.auth`` is
the token and ``request.api_client`` the client, so ``core.audit.record(..., api_client=...)``
attributes the call to the client and its unit.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from core.middleware import client_ip


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` of a unit's registered API client."""

    keyword = b"bearer"

    def authenticate(self, request):
        from . import services
        from .models import ApiToken

        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Authorization 头格式应为：Bearer <令牌>。"))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("访问令牌无效、已过期或已吊销。"))
        token = (
            ApiToken.objects.select_related("client__unit", "client__service_user")
            .filter(token_hash=services.hash_token(raw))
            .first()
        )
        now = timezone.now()
        if (
            token is None
            or not token.is_usable(now)
            or not token.client.is_active
            or not token.client.unit.is_active
            or token.client.service_user is None
            or not token.client.service_user.is_active
        ):
            raise AuthenticationFailed(_("访问令牌无效、已过期或已吊销。"))
        services.api_token_touch(token=token, ip=client_ip(request))
        request.api_client = token.client
        if hasattr(request, "_request"):
            request._request.api_client = token.client
        return token.client.service_user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def token_scopes(request) -> frozenset[str]:
    """Scopes of the calling token (empty for browser sessions, which are limited by roles)."""
    from .models import ApiToken

    auth = getattr(request, "auth", None)
    return frozenset(auth.scopes) if isinstance(auth, ApiToken) else frozenset()


def require_scope(request, scope: str) -> None:
    """For endpoints that machine callers may use only with a scope (e.g. ``exchange.download``):
    a token without ``scope`` is refused with 403; browser sessions pass (roles decide)."""
    from core.errors import PermissionDenied

    from .errors import AccountsError
    from .models import ApiToken, Scope

    if isinstance(getattr(request, "auth", None), ApiToken) and scope not in token_scopes(request):
        label = Scope(scope).label if scope in Scope.values else scope
        raise PermissionDenied(
            AccountsError.TOKEN_SCOPE_MISSING, _("访问令牌未获得“%(s)s”授权范围。") % {"s": label}
        )
