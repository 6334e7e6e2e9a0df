"""Bench-only settings: the example project, tuned by environment variables set by ``bench/run.py``.

- ``BENCH_SECRET_CACHE_SECONDS`` (default 0): above 0, the verified-secret cache is on for the
  PAR endpoint (``OAUTH2_PAR["VERIFIED_SECRET_CACHE_SECONDS"]``) and for DOT's token endpoint (a
  validator class with ``VerifiedSecretCacheMixin`` in ``OAUTH2_VALIDATOR_CLASS``).
- ``BENCH_CACHE`` (``locmem`` or ``redis``, default ``locmem``) and ``BENCH_REDIS_URL``: the cache
  backend. A locmem cache lives in one process, so several gunicorn workers need Redis.
- ``BENCH_CACHE_PREFIX``: keeps this run's keys apart from anyone else's in a shared Redis.
- ``BENCH_AUDIT_TRAIL`` (default 1): 0 turns ``OAUTH2_PAR["AUDIT_TRAIL"]`` off, so that PAR's own cost
  can be told apart from the rows the audit trail writes (``bench/run.py --only audit-off``).
- ``BENCH_MEASURE`` (default 1): add :class:`bench.middleware.MeasureMiddleware`, which reports the
  server time and the number of SQL queries of each request in response headers, and with Redis
  its cache round trips (:mod:`bench.roundtrips`).

The database comes from the example's own ``DATABASE_URL`` and ``CONN_MAX_AGE`` handling (on
SQLite it takes the write lock up front, which DOT's token endpoint needs under concurrency).
"""

from __future__ import annotations

import os
from typing import Any

from example_project.settings import *  # noqa: F403
from example_project.settings import LOGGING as EXAMPLE_LOGGING
from example_project.settings import MIDDLEWARE as EXAMPLE_MIDDLEWARE
from example_project.settings import OAUTH2_PAR as EXAMPLE_OAUTH2_PAR
from example_project.settings import OAUTH2_PROVIDER as EXAMPLE_OAUTH2_PROVIDER

DEBUG = False

SECRET_CACHE_SECONDS = int(os.environ.get("BENCH_SECRET_CACHE_SECONDS", "0"))
DEFAULT_VALIDATOR = "oauth2_provider.oauth2_validators.OAuth2Validator"
CACHED_VALIDATOR = "bench.validators.CachedSecretValidator"

OAUTH2_PROVIDER = {
    **EXAMPLE_OAUTH2_PROVIDER,
    "OAUTH2_VALIDATOR_CLASS": CACHED_VALIDATOR if SECRET_CACHE_SECONDS > 0 else DEFAULT_VALIDATOR,
}
# No authorization_details types: the benchmark sends none, and with DOT's own validator (which
# carries no details into tokens) registering them fails the app's check oauth_par.E007, which
# stops manage.py commands such as the cleanup the benchmark times.
OAUTH2_PAR = {
    **EXAMPLE_OAUTH2_PAR,
    "VERIFIED_SECRET_CACHE_SECONDS": SECRET_CACHE_SECONDS,
    "AUTHORIZATION_DETAILS_TYPES": {},
}
if os.environ.get("BENCH_AUDIT_TRAIL", "1") != "1":
    # Only when asked: otherwise the setting keeps the app's default, as a site that never sets it.
    OAUTH2_PAR["AUDIT_TRAIL"] = False

_prefix = os.environ.get("BENCH_CACHE_PREFIX", "oauth-par-bench")
_measure = os.environ.get("BENCH_MEASURE", "1") == "1"
CACHES: dict[str, dict[str, Any]]
BENCH_COUNT_CACHE_TRIPS = False
if os.environ.get("BENCH_CACHE", "locmem") == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "KEY_PREFIX": _prefix,
        }
    }
    if _measure:
        from bench.roundtrips import CountingConnection

        CACHES["default"]["OPTIONS"] = {"connection_class": CountingConnection}
        BENCH_COUNT_CACHE_TRIPS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": _prefix}}

MIDDLEWARE = list(EXAMPLE_MIDDLEWARE)
if _measure:
    # Outermost, so it sees every query, the session save included.
    MIDDLEWARE = ["bench.middleware.MeasureMiddleware", *MIDDLEWARE]

# Server errors into the gunicorn log (Django logs them to the console only with DEBUG on).
LOGGING = {
    **EXAMPLE_LOGGING,
    "loggers": {
        **EXAMPLE_LOGGING["loggers"],
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
