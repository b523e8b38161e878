"""One error family for the whole platform (STYLE.md).

Services raise these; the API maps them once to HTTP status codes with
``{"error": {"code", "message", "details"}}`` and the UI shows ``message`` in a form or banner.
Each app keeps its stable codes in an ``Enum`` in its own ``errors.py``; clients branch on
``code``, people read ``message``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from django.utils.translation import gettext_lazy as _


class CoreError(str, Enum):
    """Codes used by core and by the generic parts of the API."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    CONFLICT = "conflict"
    NOT_AUTHENTICATED = "not_authenticated"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"


class DomainError(Exception):
    """Base of every error a person or client should read."""

    status = 400
    default_code: str = CoreError.INVALID.value
    default_message = _("请求无效。")

    def __init__(self, code: Enum | str | None = None, message: Any = None, details: Any = None):
        if isinstance(code, Enum):
            code = code.value
        self.code = code or self.default_code
        self.message = str(message if message is not None else self.default_message)
        self.details = details if details is not None else {}
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class Invalid(DomainError):
    """Input breaks a rule (400)."""

    status = 400
    default_code = CoreError.INVALID.value
    default_message = _("提交的内容不符合要求。")


class PermissionDenied(DomainError):
    """The actor may not do this (403)."""

    status = 403
    default_code = CoreError.NOT_ALLOWED.value
    default_message = _("您没有执行此操作的权限。")


class NotFound(DomainError):
    """Nothing the actor may see matches (404). Also used instead of 403 where existence must not leak."""

    status = 404
    default_code = CoreError.NOT_FOUND.value
    default_message = _("未找到请求的对象。")


class Conflict(DomainError):
    """The object is not in a state that allows this (409), e.g. an illegal transition."""

    status = 409
    default_code = CoreError.CONFLICT.value
    default_message = _("当前状态不允许此操作。")


class RateLimited(DomainError):
    """Too many requests (429)."""

    status = 429
    default_code = CoreError.RATE_LIMITED.value
    default_message = _("请求过于频繁，请稍后再试。")


def from_validation_error(exc: Any, code: Enum | str = CoreError.INVALID) -> Invalid:
    """Turn a Django ``ValidationError`` into ``Invalid`` with field errors as details."""
    if hasattr(exc, "message_dict"):
        details = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        first = next(iter(details.values()), [""])[0]
        return Invalid(code, first or None, {"fields": details})
    messages = [str(m) for m in getattr(exc, "messages", [exc])]
    return Invalid(code, messages[0] if messages else None, {"messages": messages})
