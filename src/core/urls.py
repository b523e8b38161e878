from django.urls import include, path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("", include("core.views_notifications")),
    path("", include("core.views_calendar")),
]
