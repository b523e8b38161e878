from django.urls import path

from . import views

app_name = "catalog-api"
urlpatterns = [
    path("resources/", views.ResourceListApi.as_view(), name="resource-list"),
    path("resources/export.<str:fmt>", views.ResourceExportApi.as_view(), name="resource-export"),
    path("resources/<int:pk>/", views.ResourceDetailApi.as_view(), name="resource-detail"),
    path("resources/<int:pk>/changes/", views.ResourceChangeListApi.as_view(), name="resource-changes"),
    path("resources/<int:pk>/claims/", views.ResourceClaimsApi.as_view(), name="resource-claims"),
    path("resources/<int:pk>/<slug:action>/", views.ResourceActionApi.as_view(), name="resource-action"),
    path("changes/<int:pk>/<slug:action>/", views.ResourceChangeActionApi.as_view(), name="change-action"),
    path("search/", views.ResourceSearchApi.as_view(), name="search"),
    path("catalogs/<slug:sharing_type>/", views.CatalogListApi.as_view(), name="catalog"),
    path(
        "catalogs/<slug:sharing_type>/export.<str:fmt>",
        views.CatalogExportApi.as_view(),
        name="catalog-export",
    ),
    path("template.xlsx", views.TemplateApi.as_view(), name="template"),
    path("import/", views.ImportApi.as_view(), name="import"),
    path("concepts/", views.ConceptListApi.as_view(), name="concepts"),
    path("claims/<int:pk>/decide/", views.ClaimDecideApi.as_view(), name="claim-decide"),
    path("demands/", views.DemandListApi.as_view(), name="demands"),
    path("demands/<int:pk>/<slug:action>/", views.DemandActionApi.as_view(), name="demand-action"),
    path("campaigns/", views.CampaignListApi.as_view(), name="campaigns"),
    path("campaigns/<int:pk>/", views.CampaignDetailApi.as_view(), name="campaign-detail"),
    path("campaigns/<int:pk>/remind/", views.CampaignRemindApi.as_view(), name="campaign-remind"),
    path("campaign-entries/<int:pk>/confirm/", views.CampaignEntryConfirmApi.as_view(), name="entry-confirm"),
    path("projects/", views.ProjectListApi.as_view(), name="projects"),
    path("planned/<int:pk>/link/", views.PlannedLinkApi.as_view(), name="planned-link"),
]
