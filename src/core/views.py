"""Core pages: dashboard ("my tasks"), health check, error pages in Chinese."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView


class DashboardView(LoginRequiredMixin, TemplateView):
    """ "我的待办" — each app contributes panels through ``core.dashboard``."""

    template_name = "core/dashboard.html"

    def get_context_data(self, **kwargs):
        from core.dashboard import panels_for

        ctx = super().get_context_data(**kwargs)
        ctx["panels"] = panels_for(self.request.user)
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


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def _error(request, status: int, code: str, message: str):
    if _wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)
    return render(request, "errors/error.html", {"status": status, "message": message}, status=status)


def error_403(request, exception=None):
    return _error(request, 403, "not_allowed", "您没有访问此页面的权限。")


def error_404(request, exception=None):
    return _error(request, 404, "not_found", "您访问的页面不存在或已被移除。")


def error_500(request):
    return _error(request, 500, "server_error", "服务器内部错误，我们已记录此问题，请稍后重试。")
