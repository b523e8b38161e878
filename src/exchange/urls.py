from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("grants/", views.GrantListView.as_view(), name="grant-list"),
    path("grants/<int:pk>/", views.GrantDetailView.as_view(), name="grant-detail"),
    path("apply/<str:code>/", views.AccessApplyView.as_view(), name="apply"),
    path("requests/", views.AccessRequestListView.as_view(), name="request-list"),
    path("requests/<int:pk>/", views.AccessRequestDetailView.as_view(), name="request-detail"),
    path("usage/", views.UsageView.as_view(), name="usage"),
    path("record-access/", views.WhoAccessedView.as_view(), name="who-accessed"),
]
