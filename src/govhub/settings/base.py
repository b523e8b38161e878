"""GovHub settings. Everything that differs per deployment comes from the environment.

Embedded default: SQLite in WAL mode under ``var/`` (no other server needed).
Production: ``DATABASE_URL=postgres://...`` (psycopg 3).
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

SRC_DIR = Path(__file__).resolve().parent.parent.parent
BASE_DIR = SRC_DIR.parent
VAR_DIR = Path(os.environ.get("GOVHUB_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Read the key from the environment, else from a file generated once per installation.

    No secret is ever committed to the repository.
    """
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "bootstrap",
    # GovHub apps, left to right as in DESIGN.md
    "core",
    "accounts",
    "catalog",
    "datastore",
    "exchange",
    "cloud",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.locale.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionIdleTimeoutMiddleware",
    "accounts.middleware.ForcePasswordChangeMiddleware",
    "accounts.middleware.AccessDeniedAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "govhub.urls"
WSGI_APPLICATION = "govhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.shell",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'govhub.sqlite3'}")
# Persistent connections: opening a PostgreSQL connection per request (a backend fork) costs more
# than most requests. Each web server thread keeps one; health-checked before reuse.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("GOVHUB_DB_CONN_MAX_AGE", "600")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run while a writer writes; IMMEDIATE takes the write lock at BEGIN
        # so two writers queue instead of deadlocking on lock upgrade.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA busy_timeout=20000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # Django's cursors bind on the client and never prepare; the exchange gateway's hot statements
    # use psycopg's server-side cursors and are prepared once per connection (planning them costs
    # more than running them). Behind a transaction-pooling PgBouncer set this to "" (off).
    _prepare = os.environ.get("GOVHUB_DB_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = int(_prepare) if _prepare else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.passwords.MinimumLengthValidator"},
    {"NAME": "accounts.passwords.CharacterClassValidator"},
    {"NAME": "accounts.passwords.NotUsernameValidator"},
    {"NAME": "accounts.passwords.NotRecentlyUsedValidator"},
]
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
CSRF_FAILURE_VIEW = "core.views.csrf_failure"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _env_bool("GOVHUB_SECURE_COOKIES", False)
# Behind a reverse proxy that terminates HTTPS and sets X-Forwarded-Proto (and overwrites any the
# client sent): requests count as secure (CSRF referer checks, absolute links in the API).
if _env_bool("GOVHUB_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# 等保 level 3: idle sessions end (minutes, configurable).
GOVHUB_SESSION_IDLE_MINUTES = int(os.environ.get("GOVHUB_SESSION_IDLE_MINUTES", "30"))
GOVHUB_LOCKOUT_FAILURES = 5
GOVHUB_LOCKOUT_MINUTES = 15

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [SRC_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
# Exchange: per-client call limit (shared by all processes, core.ratelimit) and the gateway that
# serves the online query's hot path in front of Django (exchange.gateway).
GOVHUB_EXCHANGE_RATE = os.environ.get("GOVHUB_EXCHANGE_RATE", "1200/min")
GOVHUB_EXCHANGE_GATEWAY = _env_bool("GOVHUB_EXCHANGE_GATEWAY", True)
GOVHUB_MAX_UPLOAD_BYTES = int(os.environ.get("GOVHUB_MAX_UPLOAD_BYTES", str(2 * 1024**3)))

# --- Government cloud (docs/cloud.md) -------------------------------------------------------
GOVHUB_CLOUD_ADAPTER = os.environ.get("GOVHUB_CLOUD_ADAPTER", "cloud.adapters.InProcessAdapter")
GOVHUB_CLOUD_MAJOR_CHANGE_RATIO = float(os.environ.get("GOVHUB_CLOUD_MAJOR_CHANGE_RATIO", "0.5"))  # C§14
GOVHUB_CLOUD_MAX_ATTACHMENT_BYTES = int(
    os.environ.get("GOVHUB_CLOUD_MAX_ATTACHMENT_BYTES", str(20 * 1024**2))
)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GovHub API",
    "DESCRIPTION": "政务信息资源共享交换与政务云管理平台 API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Background jobs (django-tasks, database-backed queue) ----------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("GOVHUB_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
#: A running job whose heartbeat is older than this lost its worker (core.jobs.recover_stale).
GOVHUB_JOB_STALE_SECONDS = int(os.environ.get("GOVHUB_JOB_STALE_SECONDS", "120"))

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("GOVHUB_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("GOVHUB_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("GOVHUB_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("GOVHUB_EMAIL_FROM", "govhub@localhost")
EMAIL_HOST_USER = os.environ.get("GOVHUB_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("GOVHUB_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("GOVHUB_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _env_bool("GOVHUB_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("GOVHUB_EMAIL_TIMEOUT", "10"))
#: Absolute links in notification emails, e.g. https://govhub.furong.gov.cn (empty: relative).
GOVHUB_SITE_URL = os.environ.get("GOVHUB_SITE_URL", "")

# --- Security headers -----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GOVHUB_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
