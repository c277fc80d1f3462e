"""Django settings for Shouwang. Every knob is an environment variable (see README).

Importing this module reads; it creates nothing (no folder, no secret file): `shouwang.config`
says who creates the var folder and the secrets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from shouwang import config

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = config.var_dir()

# Empty when neither given nor created yet: the system checks then stop every command that
# needs it and say how to create it (core/checks.py).
SECRET_KEY = config.secret_key(VAR_DIR)
DEBUG = config.env_flag("DEBUG")
# Behind TLS (production) cookies are secure and HSTS is on; the laptop demo is plain HTTP.
HTTPS = config.env_flag("HTTPS")
ALLOWED_HOSTS = [h.strip() for h in config.env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in config.env("CSRF_TRUSTED_ORIGINS").split(",") if o.strip()
]

INSTALLED_APPS = [
    # Admin modules are discovered when the URLs load (urls.py), so processes without web pages
    # (`shouwang ingest`, the worker) do not import every admin.py and what they import.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "treebeard",
    "shouwang.core.lockout.LockoutConfig",  # django-axes, with a Chinese name in admin
    "huey.contrib.djhuey",
    "shouwang.core",
    "shouwang.devices",
    "shouwang.alerts",
    "shouwang.quarantine",
    "shouwang.passes",
    "shouwang.patrol",
    "shouwang.reporting",
    "shouwang.masks",
    # Last: the process runner (serve, worker, demo) sits on top of every app.
    "shouwang.runtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "shouwang.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # NUL and unpaired surrogates are refused here, for every page and endpoint (422).
    "shouwang.core.edge.HostileInputMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shouwang.core.middleware.AuditContextMiddleware",
    "shouwang.core.middleware.LoginRequiredMiddleware",
    # Last, so that a lockout is answered before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shouwang.urls"
ASGI_APPLICATION = "shouwang.asgi.application"
AUTH_USER_MODEL = "core.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "shouwang.core.nav.nav_links",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = config.env("DATABASE_URL")
    if url:
        db: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        )
    else:
        db = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "shouwang.sqlite3"),
            # As for a URL: opening SQLite and running the PRAGMAs costs ~4 ms per request.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["ENGINE"] = "shouwang.core.sqlite"
        db["OPTIONS"] = {
            # WAL lets readers work while the ingest path writes; IMMEDIATE takes the write lock
            # at BEGIN so two writers queue on busy_timeout instead of failing on lock upgrade.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "shouwang.core.roles.RoleBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
# The API's OpenAPI document and its browser view are staff-only unless this opens them.
API_DOCS_PUBLIC = config.env_flag("API_DOCS_PUBLIC")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout: five failures for one username from one address lock it for an hour.
AXES_FAILURE_LIMIT = int(config.env("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(config.env("LOGIN_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = int(config.env("PROXY_COUNT", "0"))

SESSION_COOKIE_AGE = int(config.env("SESSION_HOURS", "12")) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = config.env("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # created with the var folder (config.init_var_dir)
# Serve straight from the apps' static folders: no collectstatic step for a laptop install.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

MAX_UPLOAD_MB = int(config.env("MAX_UPLOAD_MB", "20"))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_MB * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# None when neither given nor created yet (as SECRET_KEY).
SHOUWANG_DATA_KEYS = config.data_keys(VAR_DIR)

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_errors": {"()": "shouwang.core.logs.ClientErrorsWithoutTraceback"},
        # Link tokens and ingest keys never reach a log (shouwang/core/logs.py).
        "redact_secrets": {"()": "shouwang.core.logs.RedactSecrets"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": config.env("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # An ordinary 403/404 is one line in the log, not a traceback.
        "django.request": {"filters": ["client_errors"]},
    },
}

ADMIN_SITE_HEADER = _("Shouwang administration")

# Devices: silence longer than this (per model in admin, or per device) means offline.
# Zigbee2MQTT battery sensors report rarely, hence more than a day.
OFFLINE_AFTER_HOURS = float(config.env("OFFLINE_AFTER_HOURS", "25"))
DEAD_LETTER_MAX_BYTES = 64 * 1024

# Tasks and periodic jobs (Huey): SQLite file embedded, Redis at scale. Tests run tasks inline.
REDIS_URL = config.env("REDIS_URL")
# One typed object per subsystem, read here once (shouwang/config.py says what each holds).
NOTIFY = config.NotifyConfig.from_env()
LIVE_BUS = config.LiveBusConfig.from_env()
MQTT = config.MqttConfig.from_env()
HUEY: dict[str, Any] = {
    "name": "shouwang",
    "immediate": config.env_flag("TASKS_IMMEDIATE"),
    "utc": True,
    "consumer": {"workers": int(config.env("WORKERS", "2")), "worker_type": "thread"},
}
if REDIS_URL:
    HUEY |= {"huey_class": "huey.RedisHuey", "url": REDIS_URL}
else:
    HUEY |= {"huey_class": "huey.SqliteHuey", "filename": str(VAR_DIR / "tasks.sqlite3")}


# Test isolation: content types and permissions are recreated after every flush, so the suite's
# serialized-rollback tests must not restore them on top (mixing both kinds of transactional
# test otherwise fails on django_content_type's unique key).
TEST_NON_SERIALIZED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
