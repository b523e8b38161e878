from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.ResourceSearchView.as_view(), name="search"),
    path(
        "unconditional/",
        views.CatalogView.as_view(sharing_type="unconditional"),
        name="catalog_unconditional",
    ),
    path("conditional/", views.CatalogView.as_view(sharing_type="conditional"), name="catalog_conditional"),
    path("not-shared/", views.CatalogView.as_view(sharing_type="not_shared"), name="catalog_not_shared"),
    path("mine/", views.MyResourcesView.as_view(), name="mine"),
    path("resources/new/", views.ResourceFormView.as_view(), name="resource_new"),
    path("resources/item-row/", views.ItemRowView.as_view(), name="item_row"),
    path("resources/<int:pk>/", views.ResourceDetailView.as_view(), name="resource_detail"),
    path("resources/<int:pk>/edit/", views.ResourceFormView.as_view(), name="resource_edit"),
    path("review/", views.ReviewQueueView.as_view(), name="review"),
    path("import/", views.ImportView.as_view(), name="import"),
    path("concepts/", views.ConceptView.as_view(), name="concepts"),
    path("demands/", views.DemandView.as_view(), name="demands"),
    path("demands/<int:pk>/", views.DemandDetailView.as_view(), name="demand_detail"),
    path("campaigns/", views.CampaignView.as_view(), name="campaigns"),
    path("campaigns/<int:pk>/", views.CampaignDetailView.as_view(), name="campaign_detail"),
    path("projects/", views.ProjectView.as_view(), name="projects"),
]
