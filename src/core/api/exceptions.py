"""The one DRF exception handler: every API error is ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import CoreError, DomainError, from_validation_error

logger = logging.getLogger(__name__)

_DRF_CODES = {
    drf.NotAuthenticated: (CoreError.NOT_AUTHENTICATED, 401),
    drf.AuthenticationFailed: (CoreError.NOT_AUTHENTICATED, 401),
    drf.PermissionDenied: (CoreError.NOT_ALLOWED, 403),
    drf.NotFound: (CoreError.NOT_FOUND, 404),
    drf.MethodNotAllowed: (CoreError.INVALID, 405),
    drf.NotAcceptable: (CoreError.INVALID, 406),
    drf.UnsupportedMediaType: (CoreError.INVALID, 415),
    drf.Throttled: (CoreError.RATE_LIMITED, 429),
    drf.ParseError: (CoreError.INVALID, 400),
    drf.ValidationError: (CoreError.INVALID, 400),
}


def error_response(code: str, message: str, details=None, status: int = 400, headers=None) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status=status,
        headers=headers,
    )


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return error_response(exc.code, exc.message, exc.details, exc.status)
    if isinstance(exc, DjangoValidationError):
        err = from_validation_error(exc)
        return error_response(err.code, err.message, err.details, 400)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return error_response(CoreError.SERVER_ERROR.value, _("服务器内部错误，请稍后重试。"), status=500)

    code, status = CoreError.INVALID, response.status_code
    for cls, (c, s) in _DRF_CODES.items():
        if isinstance(exc, cls):
            code, status = c, s
            break
    if isinstance(exc, drf.ValidationError):
        details = {"fields": exc.detail} if isinstance(exc.detail, dict) else {"messages": exc.detail}
        message = _("提交的内容不符合要求。")
    else:
        details = {}
        message = str(exc.detail) if hasattr(exc, "detail") else str(exc)
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            message = (
                message if isinstance(exc, drf.AuthenticationFailed) else _("需要登录或有效的访问令牌。")
            )
        elif isinstance(exc, drf.PermissionDenied):
            message = _("您没有执行此操作的权限。")
        elif isinstance(exc, drf.NotFound):
            message = _("未找到请求的对象。")
    headers = {}
    for h in ("WWW-Authenticate", "Retry-After", "Allow"):
        if h in response:
            headers[h] = response[h]
    return error_response(code.value, message, details, status, headers)
