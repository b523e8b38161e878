"""Request id for tracing one request through logs and the audit trail."""

import uuid

from django.utils.deprecation import MiddlewareMixin

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware(MiddlewareMixin):
    def process_request(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        # Accept a caller's id only if it is short and plain; otherwise make our own.
        if incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum():
            request.request_id = incoming
        else:
            request.request_id = uuid.uuid4().hex

    def process_response(self, request, response):
        rid = getattr(request, "request_id", None)
        if rid:
            response[REQUEST_ID_HEADER] = rid
        return response


def client_ip(request) -> str | None:
    """The caller's address. ``X-Forwarded-For`` is trusted only behind a configured proxy."""
    from django.conf import settings

    if getattr(settings, "GOVHUB_TRUST_X_FORWARDED_FOR", False):
        fwd = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if fwd:
            return fwd.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


class DomainErrorMiddleware:
    """A ``DomainError`` that escapes a browser view becomes the matching Chinese error page
    (404 / 403 / 400 / 409 / 429), never a 500. The API has its own handler (core.api.exceptions)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from core.errors import DomainError

        if not isinstance(exception, DomainError):
            return None
        if request.path.startswith("/api/"):
            from django.http import JsonResponse

            return JsonResponse(exception.as_dict(), status=exception.status)
        return render(
            request,
            "errors/error.html",
            {"status": exception.status, "message": exception.message},
            status=exception.status,
        )
