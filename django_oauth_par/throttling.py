"""Push rates, counted in a Django cache so every server process shares them.

A fixed window per rate: the first request of a window creates its counter with
``cache.add`` and every request increments it with ``cache.incr``, both atomic in
Redis and Memcached, so concurrent workers never lose a count.

A request takes its slot *before* the work the rate protects (hashing a secret,
authenticating a client) and gives it back when it turns out not to count. Reading
the counter first and counting afterwards would let every concurrent request pass
the read and pay for the hash before any of them is counted.

Throttling fails closed: when the cache cannot be reached, the push is answered
with 503 rather than let through unlimited.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import math
import time
from typing import Any

from django.http import HttpRequest

from . import shared_cache
from .conf import par_settings, parse_rate
from .exceptions import ParError

#: An IPv6 host usually holds a whole /64, so one address is one /64.
IPV6_PREFIX = 64


def client_address(request: HttpRequest) -> str:
    """The address a push came from, as throttles count it: REMOTE_ADDR, an IPv6 one as its /64."""
    remote = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def _cache_call(operation: str, *args: Any, **kwargs: Any) -> Any:
    return shared_cache.call("a push (throttling)", operation, *args, **kwargs)


class Window:
    """The current window of one rate for one identity (a client, an address)."""

    def __init__(self, scope: str, ident: str, rate: str) -> None:
        self.allowed, self.period = parse_rate(rate)
        now = time.time()
        index = int(now // self.period)
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        self.key = f"oauth_par:rate:{scope}:{digest}:{self.period}:{index}"
        self.retry_after = max(1, math.ceil((index + 1) * self.period - now))

    def increment(self) -> int:
        _cache_call("add", self.key, 0, timeout=self.period + 1)
        try:
            return int(_cache_call("incr", self.key))
        except ValueError:  # the counter expired between add and incr
            _cache_call("set", self.key, 1, timeout=self.period + 1)
            return 1

    def release(self) -> None:
        """Give a slot back. Failing to is not worth failing the request for."""
        with contextlib.suppress(ValueError, ParError):  # expired with its window, or the cache is down
            _cache_call("decr", self.key)

    def refusal(self, what: str) -> ParError:
        return ParError(
            "invalid_request",
            f"Too many {what}. Try again in {self.retry_after} seconds.",
            status=429,
            headers={"Retry-After": str(self.retry_after)},
        )

    def reserve(self, what: str) -> Window:
        """Take a slot or raise a 429 ParError; the slot stays taken unless released."""
        if self.increment() > self.allowed:
            raise self.refusal(what)
        return self


def reserve_failed_authentication(address: str) -> Window | None:
    """Take a slot of ``FAILED_AUTHENTICATION_RATE`` before authenticating; release it on success.

    Past the limit, the push is refused before any secret is hashed, and at most the
    limit's number of authentications from one address are ever in progress at once.
    """
    rate = par_settings.FAILED_AUTHENTICATION_RATE
    if rate is None:
        return None
    return Window("failed-auth", address, rate).reserve("failed client authentications from this address")


def reserve_push(client_id: str) -> Window | None:
    """Take a slot of ``PUSH_RATE`` for the client a push claims to be; release it if that fails."""
    rate = par_settings.PUSH_RATE
    if rate is None:
        return None
    return Window("push", client_id, rate).reserve("pushes from this client")


def count_unauthenticated_push(address: str) -> None:
    """Count a push without client authentication against ``UNAUTHENTICATED_PUSH_RATE``.

    Anyone can push in a public client's name, so these are counted per address:
    one address uses up only its own allowance, never the client's.
    """
    rate = par_settings.UNAUTHENTICATED_PUSH_RATE
    if rate is not None:
        Window("unauthenticated-push", address, rate).reserve("pushes without client authentication")


def release(window: Window | None) -> None:
    if window is not None:
        window.release()
