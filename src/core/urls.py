from django.urls import include, path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("", include("core.views_notifications")),
    path("audit/", include("core.views_audit")),
    path("", include("core.views_calendar")),
]
