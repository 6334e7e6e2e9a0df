"""The verified-secret cache: skip the slow hash for a client secret verified a moment ago.

DOT hashes client secrets with Django's first password hasher (PBKDF2 with about a
million iterations by default), so every client authentication costs a large slice
of CPU. With ``VERIFIED_SECRET_CACHE_SECONDS`` above 0, a successful check leaves a
keyed HMAC of the presented secret, bound to the stored hash, in the Django cache;
the same client presenting the same secret within that window is verified by one
HMAC and a constant-time comparison.

- Only successes are cached, so every wrong guess still pays the full hash.
- The secret itself is never stored; the HMAC key is derived from ``SECRET_KEY``.
- The cache entry is keyed by the stored hash: a changed secret misses at once, and
  a deleted client never reaches the secret check.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from contextvars import ContextVar

from django.contrib.auth.hashers import identify_hasher
from django.core.cache import caches
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from .conf import par_settings

SALT = "django_oauth_par.verified-client-secret"

log = logging.getLogger("django_oauth_par")


def _is_hashed(stored_secret: str) -> bool:
    try:
        identify_hasher(stored_secret)
    except ValueError:
        return False
    return True


#: Set when a presented secret reaches the check against the stored one, so that an
#: authentication that never got there (an unknown client) can pay the same hash.
secret_checked: ContextVar[bool] = ContextVar("secret_checked", default=False)


@sensitive_variables("provided_secret", "stored_secret", "tag")
def check_secret_cached(
    provided_secret: str, stored_secret: str, slow_check: Callable[[str, str], bool]
) -> bool:
    seconds = par_settings.VERIFIED_SECRET_CACHE_SECONDS
    if seconds <= 0 or not provided_secret or not stored_secret or not _is_hashed(stored_secret):
        return slow_check(provided_secret, stored_secret)
    cache = caches[par_settings.CACHE_ALIAS]
    key = "oauth_par:verified-secret:" + hashlib.sha256(stored_secret.encode()).hexdigest()
    tag = salted_hmac(SALT, stored_secret + "\x00" + provided_secret, algorithm="sha256").hexdigest()
    try:
        remembered = cache.get(key)
    except Exception:  # noqa: BLE001 - every cache backend fails with its own exceptions
        # The cache only saves time: without it, the full check decides.
        log.warning("verified-secret cache %r failed: checking the secret in full", par_settings.CACHE_ALIAS)
        return slow_check(provided_secret, stored_secret)
    if isinstance(remembered, str) and hmac.compare_digest(remembered, tag):
        return True
    verified = slow_check(provided_secret, stored_secret)
    if verified:
        try:
            cache.set(key, tag, seconds)
        except Exception:  # noqa: BLE001 - as above: a failed write costs the next check its speed only
            log.warning("verified-secret cache %r failed: secret not remembered", par_settings.CACHE_ALIAS)
    return verified


class VerifiedSecretCacheMixin:
    """Put in front of your ``OAUTH2_VALIDATOR_CLASS`` so DOT's token endpoint uses the cache too::

        class Validator(VerifiedSecretCacheMixin, OAuth2Validator):
            pass

    The PAR endpoint uses the cache without this.
    """

    @sensitive_variables("provided_secret", "stored_secret")
    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        secret_checked.set(True)
        return check_secret_cached(provided_secret, stored_secret, super()._check_secret)  # type: ignore[misc]
