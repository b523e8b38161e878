"""API token authentication for integrator systems (filled by the API-client work)."""

from rest_framework.authentication import BaseAuthentication


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` of a unit's registered API client."""

    def authenticate(self, request):
        return None

    def authenticate_header(self, request):
        return "Bearer"
