from django.urls import path

from . import views

app_name = "exchange-api"
urlpatterns = [
    path("grants/", views.GrantListApi.as_view(), name="grant-list"),
    path("grants/obtain/", views.GrantObtainApi.as_view(), name="grant-obtain"),
    path("grants/<int:pk>/", views.GrantDetailApi.as_view(), name="grant-detail"),
    path("grants/<int:pk>/suspend/", views.GrantSuspendApi.as_view(), name="grant-suspend"),
    path("grants/<int:pk>/resume/", views.GrantResumeApi.as_view(), name="grant-resume"),
    path("grants/<int:pk>/revoke/", views.GrantRevokeApi.as_view(), name="grant-revoke"),
    path("grants/<int:pk>/narrow/", views.GrantNarrowApi.as_view(), name="grant-narrow"),
    path("grants/<int:pk>/renew/", views.GrantRenewApi.as_view(), name="grant-renew"),
    path("requests/", views.AccessRequestListApi.as_view(), name="request-list"),
    path("requests/<int:pk>/", views.AccessRequestDetailApi.as_view(), name="request-detail"),
    path("requests/<int:pk>/opinion/", views.AccessRequestOpinionApi.as_view(), name="request-opinion"),
    path("requests/<int:pk>/decide/", views.AccessRequestDecideApi.as_view(), name="request-decide"),
]
urlpatterns += [
    path("grants/<int:pk>/webhooks/", views.WebhookCreateApi.as_view(), name="webhook-create"),
    path("webhooks/", views.WebhookListApi.as_view(), name="webhook-list"),
    path("deliveries/", views.DeliveryListApi.as_view(), name="delivery-list"),
    path("deliveries/<int:pk>/replay/", views.DeliveryReplayApi.as_view(), name="delivery-replay"),
    path("record-access/", views.WhoAccessedApi.as_view(), name="who-accessed"),
    path("usage/", views.UsageApi.as_view(), name="usage"),
    path("<str:code>/records", views.RecordQueryApi.as_view(), name="records"),
    path("<str:code>/download", views.DownloadApi.as_view(), name="download"),
    path("<str:code>/changes", views.ChangeFeedApi.as_view(), name="changes"),
]
