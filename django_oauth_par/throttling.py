"""Push rates, counted in a Django cache so every server process shares them.

A fixed window per rate: the first request of a window creates its counter with
``cache.add`` and every request increments it with ``cache.incr``, both atomic in
Redis and Memcached, so concurrent workers never lose a count.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import caches

from .conf import par_settings, parse_rate
from .exceptions import ParError


class Window:
    """The current window of one rate for one identity (a client, an address)."""

    def __init__(self, scope: str, ident: str, rate: str) -> None:
        self.allowed, self.period = parse_rate(rate)
        now = time.time()
        index = int(now // self.period)
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        self.key = f"oauth_par:rate:{scope}:{digest}:{self.period}:{index}"
        self.retry_after = max(1, math.ceil((index + 1) * self.period - now))
        self.cache = caches[par_settings.CACHE_ALIAS]

    def used(self) -> int:
        return int(self.cache.get(self.key) or 0)

    def increment(self) -> int:
        self.cache.add(self.key, 0, timeout=self.period + 1)
        try:
            return int(self.cache.incr(self.key))
        except ValueError:  # the counter expired between add and incr
            self.cache.set(self.key, 1, timeout=self.period + 1)
            return 1

    def refusal(self, what: str) -> ParError:
        return ParError(
            "invalid_request",
            f"Too many {what}. Try again in {self.retry_after} seconds.",
            status=429,
            headers={"Retry-After": str(self.retry_after)},
        )


def count_push(client_id: str) -> None:
    """Count a push against ``PUSH_RATE``; raise a 429 ParError past the limit."""
    rate = par_settings.PUSH_RATE
    if rate is None:
        return
    window = Window("push", client_id, rate)
    if window.increment() > window.allowed:
        raise window.refusal("pushes from this client")


def check_failed_authentications(address: str) -> None:
    """Refuse an address that used up ``FAILED_AUTHENTICATION_RATE``, before any secret is hashed."""
    rate = par_settings.FAILED_AUTHENTICATION_RATE
    if rate is None:
        return
    window = Window("failed-auth", address, rate)
    if window.used() >= window.allowed:
        raise window.refusal("failed client authentications from this address")


def count_failed_authentication(address: str) -> None:
    rate = par_settings.FAILED_AUTHENTICATION_RATE
    if rate is not None:
        Window("failed-auth", address, rate).increment()
