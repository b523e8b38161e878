from django.urls import path

from . import views

app_name = "accounts-api"
urlpatterns = [
    path("units/", views.UnitListApi.as_view(), name="unit-list"),
    path("units/<int:pk>/", views.UnitDetailApi.as_view(), name="unit-detail"),
    path("users/", views.UserListApi.as_view(), name="user-list"),
    path("users/import/", views.UserImportApi.as_view(), name="user-import"),
    path("users/import-template/", views.UserImportTemplateApi.as_view(), name="user-import-template"),
    path("users/<int:pk>/", views.UserDetailApi.as_view(), name="user-detail"),
    path("users/<int:pk>/reset-password/", views.UserResetPasswordApi.as_view(), name="user-reset-password"),
    path("me/", views.MeApi.as_view(), name="me"),
    path("me/password/", views.MePasswordApi.as_view(), name="me-password"),
    path("role-assignments/", views.RoleAssignmentListApi.as_view(), name="role-assignment-list"),
    path(
        "role-assignments/<int:pk>/", views.RoleAssignmentDetailApi.as_view(), name="role-assignment-detail"
    ),
    path("login-history/", views.LoginRecordListApi.as_view(), name="login-history"),
    path("lockouts/", views.LockoutListApi.as_view(), name="lockout-list"),
    path("lockouts/<int:pk>/unlock/", views.LockoutUnlockApi.as_view(), name="lockout-unlock"),
    path("api-clients/", views.ApiClientListApi.as_view(), name="api-client-list"),
    path("api-clients/<int:pk>/", views.ApiClientDetailApi.as_view(), name="api-client-detail"),
    path("api-clients/<int:pk>/tokens/", views.ApiTokenListApi.as_view(), name="api-token-list"),
    path("tokens/<int:pk>/revoke/", views.ApiTokenRevokeApi.as_view(), name="api-token-revoke"),
]
