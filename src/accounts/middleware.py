"""Session idle timeout, forced password change and auditing of refused requests (等保 level 3)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import AccountsError

LAST_ACTIVITY_KEY = "govhub_last_activity"
#: Write the activity stamp at most this often (seconds) to spare the session store.
ACTIVITY_WRITE_EVERY = 30


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _error_json(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


class SessionIdleTimeoutMiddleware:
    """Ends a browser session after GOVHUB_SESSION_IDLE_MINUTES without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = timezone.now().timestamp()
            last = request.session.get(LAST_ACTIVITY_KEY)
            idle_limit = settings.GOVHUB_SESSION_IDLE_MINUTES * 60
            if last is not None and now - float(last) > idle_limit:
                from . import services

                services.session_logout(request=request, reason="idle_timeout")
                if _is_api(request):
                    return _error_json("not_authenticated", _("会话已超时，请重新登录。"), status=401)
                query = urlencode({"next": request.get_full_path(), "timeout": "1"})
                return HttpResponseRedirect(f"{reverse(settings.LOGIN_URL)}?{query}")
            if last is None or now - float(last) > ACTIVITY_WRITE_EVERY:
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class ForcePasswordChangeMiddleware:
    """Sends a person who must change the password (new, demo or reset accounts) to the
    password page before anything else."""

    ALLOWED_PREFIXES = ("/static/", "/i18n/", "/healthz", "/accounts/password/", "/accounts/logout/")
    ALLOWED_PREFIXES += ("/accounts/login/", "/api/v1/accounts/me/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(self.ALLOWED_PREFIXES)
        ):
            if _is_api(request):
                return _error_json(
                    AccountsError.PASSWORD_CHANGE_REQUIRED.value,
                    _("首次登录或密码被重置后须先修改密码。"),
                    status=403,
                )
            return HttpResponseRedirect(reverse("accounts:password_change"))
        return self.get_response(request)


class AccessDeniedAuditMiddleware:
    """Writes an audit event for every refused (403) request of a signed-in caller, browser or
    API token alike (DRF puts the token's user on the request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            from . import services

            services.access_denied(request=request, status=response.status_code)
        return response
