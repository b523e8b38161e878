from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("logins/", views.MyLoginHistoryView.as_view(), name="login_history"),
    path("units/", views.UnitListView.as_view(), name="unit_list"),
    path("units/new/", views.UnitEditView.as_view(), name="unit_create"),
    path("units/<int:pk>/edit/", views.UnitEditView.as_view(), name="unit_edit"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/new/", views.UserCreateView.as_view(), name="user_create"),
    path("users/import/", views.UserImportView.as_view(), name="user_import"),
    path("users/import/template/", views.UserImportTemplateView.as_view(), name="user_import_template"),
    path("users/<int:pk>/", views.UserDetailView.as_view(), name="user_detail"),
    path("lockouts/", views.LockoutListView.as_view(), name="lockout_list"),
    path("api-clients/", views.ApiClientListView.as_view(), name="api_client_list"),
    path("api-clients/<int:pk>/", views.ApiClientDetailView.as_view(), name="api_client_detail"),
]
