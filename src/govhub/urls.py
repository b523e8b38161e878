"""URL map. Each app owns its UI routes (``/<app>/``) and API routes (``/api/v1/<app>/``)."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns  # noqa: F401  (kept for translators' reference)
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.views import healthz

handler400 = "core.views.error_400"
handler403 = "core.views.error_403"
handler404 = "core.views.error_404"
handler500 = "core.views.error_500"

api_v1 = [
    path("core/", include("core.api.urls")),
    path("accounts/", include("accounts.api.urls")),
    path("catalog/", include("catalog.api.urls")),
    path("datastore/", include("datastore.api.urls")),
    path("exchange/", include("exchange.api.urls")),
    path("cloud/", include("cloud.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("accounts/", include("accounts.urls")),
    path("catalog/", include("catalog.urls")),
    path("datastore/", include("datastore.urls")),
    path("exchange/", include("exchange.urls")),
    path("cloud/", include("cloud.urls")),
    path("", include("core.urls")),
]

if settings.DEBUG or getattr(settings, "GOVHUB_ENABLE_DJANGO_ADMIN", True):
    urlpatterns.insert(0, path("django-admin/", admin.site.urls))
