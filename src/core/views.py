"""Core pages: dashboard ("我的待办"), health check, error pages in the user's language.

Error pages never show a stack trace: with ``DEBUG=False`` Django calls the handlers below,
which answer JSON in the one error shape for API callers and a plain page for browsers.
"""

from __future__ import annotations

import logging

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.generic import TemplateView

logger = logging.getLogger(__name__)


class DashboardView(LoginRequiredMixin, TemplateView):
    """ "我的待办" — each app contributes panels through ``core.dashboard``."""

    template_name = "core/dashboard.html"

    def get_context_data(self, **kwargs):
        from core.dashboard import panels_for

        ctx = super().get_context_data(**kwargs)
        ctx["panels"] = panels_for(self.request.user)
        ctx["open_count"] = sum(p.get("count") or 0 for p in ctx["panels"])
        return ctx


@never_cache
def healthz(request):
    """For load balancers: 200 with the database status, 503 when the database is unreachable."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return JsonResponse({"status": "ok", "database": "ok", "vendor": connection.vendor})
    except Exception as exc:  # any driver error means "down" for the balancer
        return JsonResponse(
            {"status": "error", "database": "unreachable", "detail": type(exc).__name__}, status=503
        )


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def _error(request: HttpRequest, status: int, code: str, heading: str, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)
    context = {
        "status": status,
        "heading": heading,
        "message": message,
        "request_id": getattr(request, "request_id", ""),
    }
    return render(request, "errors/error.html", context, status=status)


@requires_csrf_token
def error_400(request, exception=None):
    return _error(request, 400, "bad_request", _("请求无效"), _("请求格式不正确，请检查后重试。"))


@requires_csrf_token
def error_403(request, exception=None):
    return _error(request, 403, "not_allowed", _("无权访问"), _("您没有访问此页面的权限。"))


@requires_csrf_token
def error_404(request, exception=None):
    return _error(request, 404, "not_found", _("页面不存在"), _("您访问的页面不存在或已被移除。"))


def csrf_failure(request, reason: str = ""):
    """CSRF refusals (a stale form, a cross-site post) explained in the user's language."""
    return _error(
        request,
        403,
        "csrf_failed",
        _("页面已过期"),
        _("表单已过期或来源无法验证，请刷新页面后重新提交。"),
    )


def error_500(request):
    """Rendered without the database, the session or context processors: any of them may be what failed."""
    message = _("服务器内部错误，我们已记录此问题，请稍后重试。")
    request_id = getattr(request, "request_id", "")
    if _wants_json(request):
        return JsonResponse(
            {"error": {"code": "server_error", "message": message, "details": {"request_id": request_id}}},
            status=500,
        )
    try:
        body = loader.get_template("errors/500.html").render({"message": message, "request_id": request_id})
    except Exception:  # the last resort must not fail
        logger.exception("error page could not be rendered")
        body = "<h1>500</h1><p>服务器内部错误，请稍后重试。</p>"
    return HttpResponse(body, status=500, content_type="text/html; charset=utf-8")
