"""/cloud/ pages."""

from django.urls import path

from cloud import views

app_name = "cloud"
urlpatterns = [
    path("", views.CloudHomeView.as_view(), name="home"),
    path("center/", views.CenterView.as_view(), name="center"),
    path("systems/new/", views.SystemCreateView.as_view(), name="system-create"),
    path("applications/new/", views.ApplicationCreateView.as_view(), name="application-create"),
    path("applications/<int:pk>/", views.ApplicationDetailView.as_view(), name="application-detail"),
    path(
        "applications/<int:pk>/attachments/<int:attachment_pk>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
    path(
        "applications/<int:pk>/agreement.docx",
        views.AgreementDownloadView.as_view(),
        name="application-agreement",
    ),
    path("exemptions/new/", views.ExemptionCreateView.as_view(), name="exemption-create"),
    path("migrations/new/", views.MigrationCreateView.as_view(), name="migration-create"),
    path("migrations/<int:pk>/", views.MigrationActionView.as_view(), name="migration-action"),
]

from cloud.ops_views import urlpatterns as _ops_urlpatterns  # noqa: E402  cloud operations (issue 9)

urlpatterns += _ops_urlpatterns
