from django.urls import include, path

app_name = "core-api"
urlpatterns: list = [
    path("", include("core.api.calendar")),
    path("", include("core.api.notifications")),
    path("", include("core.api.jobs")),
    path("", include("core.api.audit")),
]
