"""The shared cache (``CACHE_ALIAS``) where its failure must refuse: rates, used ``jti`` values, keys.

Each of these guards something: a rate, a single use, a bound on fetches. Without the cache the
guard cannot hold, so a failing cache refuses the request with ``503 temporarily_unavailable``
(fail closed) instead of letting it through or answering with a server error. The verified-secret
cache only saves time and falls back on its own (:mod:`~django_oauth_par.secret_cache`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import BaseCache, caches

from .conf import par_settings
from .exceptions import cache_unavailable

log = logging.getLogger("django_oauth_par")


def shared_cache() -> BaseCache:
    return caches[par_settings.CACHE_ALIAS]


def call(purpose: str, operation: str, *args: Any, **kwargs: Any) -> Any:
    """``operation`` on the shared cache; a failure of the cache raises the 503 ParError.

    ``purpose`` names what was refused in the log line (never a key or a value).
    ``ValueError`` passes through: ``incr`` of a missing key is the caller's business.
    """
    try:
        return getattr(shared_cache(), operation)(*args, **kwargs)
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - every cache backend fails with its own exceptions
        raise failed(purpose) from None


def failed(purpose: str) -> Exception:
    """Log that the shared cache failed ``purpose``; the error to raise for it."""
    log.warning("%s refused: the cache %r failed", purpose, par_settings.CACHE_ALIAS)
    return cache_unavailable()
