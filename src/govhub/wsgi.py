import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhub.settings.base")
_django = get_wsgi_application()

from exchange.gateway import Gateway  # noqa: E402  (needs the configured settings)

#: The exchange gateway serves the online query's hot path and hands everything else to Django.
application = Gateway(_django)
