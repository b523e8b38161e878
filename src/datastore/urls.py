from django.urls import path

from . import views

app_name = "datastore"
urlpatterns = [
    path("", views.DatastoreHomeView.as_view(), name="home"),
    path("resources/<int:pk>/", views.ResourceDataView.as_view(), name="resource"),
    path("resources/<int:pk>/upload/", views.LoadUploadView.as_view(), name="upload"),
    path("resources/<int:pk>/source-change/", views.SourceChangeView.as_view(), name="source_change"),
    path("loads/<int:pk>/", views.LoadDetailView.as_view(), name="load"),
    path("loads/<int:pk>/progress/", views.LoadProgressView.as_view(), name="load_progress"),
    path("loads/<int:pk>/retry/", views.LoadRetryView.as_view(), name="load_retry"),
    path("loads/<int:pk>/rejects.<str:fmt>", views.LoadRejectDownloadView.as_view(), name="load_rejects"),
]
