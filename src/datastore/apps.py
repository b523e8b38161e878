from django.apps import AppConfig


class DatastoreConfig(AppConfig):
    name = "datastore"
    default_auto_field = "django.db.models.BigAutoField"
