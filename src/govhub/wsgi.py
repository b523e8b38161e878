import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhub.settings.base")
_django = get_wsgi_application()

from exchange.gateway import Gateway  # noqa: E402  (needs the configured settings)


class WithoutProcessEnvironment:
    """WSGI middleware: remove the server process's environment variables from each request's
    environ. granian starts every environ from a copy of ``os.environ`` (decision 0012), so
    ``DATABASE_URL`` and the like would sit in ``request.META`` (and in any report of it), and a
    variable named like a header (``HTTP_X_FORWARDED_FOR``) would pass for one the client sent.
    A request's own value of the same name (it differs from the process's) is kept."""

    #: What the server sets for the request (CGI and WSGI names): never removed.
    REQUEST_KEYS = frozenset(
        {"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
         "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE", "GATEWAY_INTERFACE",
         "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT", "HTTPS", "REQUEST_URI", "RAW_URI"}
    )  # fmt: skip

    def __init__(self, app, env=None):
        self.app = app
        env = os.environ if env is None else env
        self.env = {k: v for k, v in env.items() if k not in self.REQUEST_KEYS and not k.startswith("wsgi.")}

    def __call__(self, environ: dict, start_response):
        for key, value in self.env.items():
            if environ.get(key, self) == value:
                del environ[key]
        return self.app(environ, start_response)


#: The exchange gateway serves the online query's hot path and hands everything else to Django.
application = WithoutProcessEnvironment(Gateway(_django))
