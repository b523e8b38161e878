from django.urls import path

from . import views

app_name = "datastore-api"
urlpatterns = [
    path("loads/", views.LoadListApi.as_view(), name="load-list"),
    path("loads/<int:pk>/", views.LoadDetailApi.as_view(), name="load-detail"),
    path("loads/<int:pk>/retry/", views.LoadRetryApi.as_view(), name="load-retry"),
    path("loads/<int:pk>/rejects/", views.LoadRejectListApi.as_view(), name="load-rejects"),
    path(
        "loads/<int:pk>/rejects.<str:fmt>",
        views.LoadRejectDownloadApi.as_view(),
        name="load-rejects-download",
    ),
    path("resources/<int:pk>/loads/", views.ResourceLoadListApi.as_view(), name="resource-loads"),
    path("resources/<int:pk>/push/", views.ResourcePushApi.as_view(), name="resource-push"),
    path("resources/<int:pk>/quality/", views.ResourceQualityApi.as_view(), name="resource-quality"),
    path(
        "resources/<int:pk>/source-changes/",
        views.ResourceSourceChangeApi.as_view(),
        name="resource-source-change",
    ),
]
