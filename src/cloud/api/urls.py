"""/api/v1/cloud/ routes."""

from django.urls import path

from cloud.api import views as v

app_name = "cloud-api"

_actions = [
    ("accept", v.ApplicationAcceptApi),
    ("return", v.ApplicationReturnApi),
    ("resubmit", v.ApplicationResubmitApi),
    ("approve", v.ApplicationApproveApi),
    ("reject", v.ApplicationRejectApi),
    ("test", v.ApplicationTestApi),
    ("retest", v.ApplicationRetestApi),
    ("agreement", v.ApplicationAgreementApi),
    ("go-live", v.ApplicationGoLiveApi),
    ("change", v.ApplicationChangeApi),
    ("change-approve", v.ApplicationChangeApproveApi),
    ("change-refuse", v.ApplicationChangeRefuseApi),
    ("terminate", v.ApplicationTerminateApi),
    ("terminate-approve", v.ApplicationTerminateApproveApi),
    ("terminate-refuse", v.ApplicationTerminateRefuseApi),
    ("reclaim", v.ApplicationReclaimApi),
]

urlpatterns = [
    path("products/", v.ProductListApi.as_view(), name="product-list"),
    path("pools/", v.PoolListApi.as_view(), name="pool-list"),
    path("pools/<int:pk>/", v.PoolDetailApi.as_view(), name="pool-detail"),
    path("systems/", v.SystemListApi.as_view(), name="system-list"),
    path("systems/<int:pk>/", v.SystemDetailApi.as_view(), name="system-detail"),
    path("applications/", v.ApplicationListApi.as_view(), name="application-list"),
    path("applications/<int:pk>/", v.ApplicationDetailApi.as_view(), name="application-detail"),
    path("applications/<int:pk>/attachments/", v.ApplicationAttachApi.as_view(), name="application-attach"),
    path(
        "applications/<int:pk>/attachments/<int:attachment_pk>/",
        v.ApplicationAttachmentApi.as_view(),
        name="application-attachment",
    ),
    *[
        path(f"applications/<int:pk>/{slug}/", view.as_view(), name=f"application-{slug}")
        for slug, view in _actions
    ],
    path("resources/", v.ResourceListApi.as_view(), name="resource-list"),
    path("queue/", v.QueueApi.as_view(), name="queue"),
    path("overdue/", v.OverdueApi.as_view(), name="overdue"),
    path("exemptions/", v.ExemptionListApi.as_view(), name="exemption-list"),
    path("exemptions/<int:pk>/decide/", v.ExemptionDecideApi.as_view(), name="exemption-decide"),
    path("migrations/", v.MigrationListApi.as_view(), name="migration-list"),
    path("migrations/<int:pk>/live/", v.MigrationLiveApi.as_view(), name="migration-live"),
    path(
        "migrations/<int:pk>/retired-list/",
        v.MigrationRetiredListApi.as_view(),
        name="migration-retired-list",
    ),
]

from cloud.api.ops import urlpatterns as _ops_urlpatterns  # noqa: E402  cloud operations (issue 9)

urlpatterns += _ops_urlpatterns
