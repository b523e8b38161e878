from django.apps import AppConfig


class CloudConfig(AppConfig):
    name = "cloud"
    default_auto_field = "django.db.models.BigAutoField"
