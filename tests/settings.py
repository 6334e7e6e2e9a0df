"""Settings of the test suite: an authorization server with this app, and the demo relying party.

The database comes from DATABASE_URL: SQLite when it is unset, PostgreSQL in the second run of
tests/run.sh. They work on every DOT this app supports, the ones with a PAR of their own included.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
import django

TMP = Path(tempfile.gettempdir())

SECRET_KEY = "tests-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "django_oauth_par",
    # The demo's relying party, which the end-to-end tests log in through.
    "example_project.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_oauth_par.middleware.PushedAuthorizationMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The demo's consent page (DOT's, with the pushed authorization_details).
        "DIRS": [Path(__file__).resolve().parents[1] / "example_project" / "templates"],
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

# SQLite in a file, never in memory, even before the test database replaces it: pytest-django's
# live server decides whether to hand its threads the main thread's connection by asking whether
# the database is in memory, and one SQLite connection shared by threads crashes the process.
SQLITE_FILE = TMP / f"django_oauth_par_{os.getpid()}.sqlite3"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_FILE}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, as every deployed SQLite is: in-memory test databases make concurrent
    # writers fail at once ("table is locked") instead of waiting their turn.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    if django.VERSION >= (5, 1):
        # Transactions that read before they write (DOT's token endpoint) must take the write
        # lock up front; a deferred one cannot wait for it and fails under concurrency.
        DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["TEST"] = {"NAME": str(TMP / f"django_oauth_par_tests_{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# DOT hashes client secrets with the first hasher; PBKDF2 would cost half a second per push.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _signing_key(path: Path) -> str:
    """An RSA key for ID tokens, made once per machine and shared by every process of a run."""
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_bytes(pem)
        partial.replace(path)  # atomic: a concurrent reader sees no half-written key
    return path.read_text()


OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _signing_key(TMP / "django_oauth_par_tests_oidc.key"),
    "PKCE_REQUIRED": True,
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "See your name",
        "read": "Read your data",
        "write": "Change your data",
    },
    "DEFAULT_SCOPES": ["read"],
    # Carries what a pushed request granted (authorization_details, the audit chain) into tokens.
    "OAUTH2_VALIDATOR_CLASS": "example_project.demo.oauth.Validator",
    # DOT >= 3.5 has a PAR of its own, on by default; this app answers instead (check oauth_par.E005).
    # Older DOTs ignore the key.
    "PAR_ENABLED": False,
}

OAUTH2_PAR = {
    "REQUEST_URI_LIFETIME": 60,
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False,
    "AUTHORIZATION_DETAILS_TYPES": {"payment_initiation": "example_project.demo.payments.validate_payment"},
    "AUDIT_SENSITIVE_KEYS": ["creditorAccount"],
    "JWKS_URI_ALLOW_HTTP": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django_oauth_par": {"handlers": ["null"], "propagate": True, "level": "DEBUG"}},
}
