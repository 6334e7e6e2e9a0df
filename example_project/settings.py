"""Settings of the demo authorization server (with a relying party in the same site).

SQLite by default; PostgreSQL (or any database) when DATABASE_URL is set.
Not a template for production: the secret key and the OpenID Connect signing key
are made up on the spot for the demo.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django

from .keys import demo_signing_key

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-a-secret-of-any-real-deployment")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
# run.sh serves the demo at DEMO_ADDRESS (host:port); its host must be allowed too.
_demo_host = os.environ.get("DEMO_ADDRESS", "").rpartition(":")[0]
if _demo_host and _demo_host not in ("0.0.0.0", "[::]"):
    ALLOWED_HOSTS.append(_demo_host)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "django_oauth_par",
    "example_project.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_oauth_par.middleware.PushedAuthorizationMiddleware",
]

ROOT_URLCONF = "example_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The demo's look for DOT's pages (oauth2_provider/base.html), its consent page (DOT's, with
        # the pushed authorization_details) and the consent text of its payment_initiation type.
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "example_project.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    if django.VERSION >= (5, 1):
        # Transactions that read before they write (DOT's token endpoint) must take the write
        # lock up front; a deferred one cannot wait for it and fails under concurrency.
        DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": demo_signing_key(BASE_DIR / "oidc.key"),
    "PKCE_REQUIRED": True,
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "See your name",
        "read": "Read your data",
        "write": "Change your data",
    },
    "DEFAULT_SCOPES": ["read"],
    # DOT >= 3.5 has a PAR of its own, on by default; this app answers instead (check oauth_par.E005).
    # Older DOTs ignore the key.
    "PAR_ENABLED": False,
    # Carries what a pushed request granted (authorization_details, the audit chain) into tokens.
    "OAUTH2_VALIDATOR_CLASS": "example_project.demo.oauth.Validator",
}

OAUTH2_PAR = {
    "REQUEST_URI_LIFETIME": int(os.environ.get("PAR_REQUEST_URI_LIFETIME", "60")),
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": os.environ.get("PAR_REQUIRED", "0") == "1",
    "AUTHORIZATION_DETAILS_TYPES": {"payment_initiation": "example_project.demo.payments.validate_payment"},
    "AUDIT_SENSITIVE_KEYS": ["creditorAccount"],
    # A demo's clients may publish their keys on a local http:// URL; never in production.
    "JWKS_URI_ALLOW_HTTP": os.environ.get("PAR_JWKS_URI_ALLOW_HTTP", "0") == "1",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # runserver logs every request line, and the authorization URL carries the request_uri.
    "formatters": {
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "filters": {"mask_references": {"()": "example_project.logfilters.MaskReferences"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "server": {"class": "logging.StreamHandler", "filters": ["mask_references"], "formatter": "server"},
    },
    "loggers": {
        "django_oauth_par": {"handlers": ["console"], "level": "INFO"},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
}
