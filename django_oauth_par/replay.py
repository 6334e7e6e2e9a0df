"""Each ``jti`` used once: the replay store of client assertions and request objects.

A ``jti`` is recorded, as a digest, in the shared cache (``CACHE_ALIAS``) until its token
expires; a token whose ``jti`` is already there is refused. Only a digest of the client
and the ``jti`` is kept, never the token.

A push can carry two such tokens, a client assertion and a request object. Inside
:func:`recorded_together` their uses are collected while both are verified and written
by one :func:`record` once both are: on a Redis cache that is one round trip, a script
that refuses or records them all at once, and on any other cache one ``add`` per token,
undone if a later one is refused. Either way a refused push leaves no ``jti`` recorded,
so a client's fresh token is never used up by a push that carried someone's replay.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.cache import BaseCache

from . import shared_cache
from .conf import par_settings
from .exceptions import ParError


@dataclass(frozen=True)
class Use:
    """One token's ``jti``: the cache key that records it, for how long, and the refusal of a replay."""

    key: str
    timeout: int
    replayed: ParError


#: The uses collected by :func:`recorded_together`, waiting for :func:`record`.
_pending: ContextVar[list[Use] | None] = ContextVar("oauth_par_pending_jti_uses", default=None)

#: Refuse (returning the 1-based index of the first key already present) or record every key.
_RECORD_ALL = """
for index, key in ipairs(KEYS) do
    if redis.call('EXISTS', key) == 1 then return index end
end
for index, key in ipairs(KEYS) do
    redis.call('SET', key, 1, 'EX', ARGV[index])
end
return 0
"""


def use_once(
    kind: str, client_id: str, jti: str, exp: float, refuse: Callable[[str], ParError], what: str
) -> None:
    """Record ``jti`` as used until ``exp``; refuse it when it was used before.

    Inside :func:`recorded_together` the use waits for the block's :func:`record`.
    """
    digest = hashlib.sha256(f"{client_id}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()
    # The entry outlives the token (plus the clock skew): a replay is refused for as long as
    # the token itself would be accepted.
    timeout = max(1, math.ceil(exp - time.time()) + par_settings.CLOCK_SKEW)
    use = Use(
        f"oauth_par:jti:{kind}:{digest}",
        timeout,
        refuse(f"The {what} has been used before (its jti was seen)."),
    )
    pending = _pending.get()
    if pending is None:
        _record_all([use])
    else:
        pending.append(use)


@contextmanager
def recorded_together() -> Iterator[None]:
    """Collect the uses of the tokens verified inside the block, for one :func:`record`.

    Uses still pending when the block ends normally are recorded then; when it ends with
    an exception (the push was refused) they are dropped, so nothing is recorded.
    """
    reset = _pending.set([])
    try:
        yield
        record()
    finally:
        _pending.reset(reset)


def record() -> None:
    """Record the uses collected so far, all or none; raise the refusal of the first replayed."""
    pending = _pending.get()
    if pending:
        uses = list(pending)
        pending.clear()
        _record_all(uses)


def _record_all(uses: Sequence[Use]) -> None:
    try:
        replayed = _first_replayed(uses)
    except Exception:  # noqa: BLE001 - every cache backend fails with its own exceptions
        # Without the store a replay cannot be told apart: refuse (503), never accept unrecorded.
        raise shared_cache.failed("a token (its jti store)") from None
    if replayed is not None:
        raise replayed.replayed


def _first_replayed(uses: Sequence[Use]) -> Use | None:
    """Record every use, or none when one was recorded before: return that one."""
    cache = shared_cache.shared_cache()
    redis = _redis_of(cache) if len(uses) > 1 else None
    if redis is not None:
        client, full_key = redis
        keys = [full_key(use.key) for use in uses]
        refused = int(client.eval(_RECORD_ALL, len(keys), *keys, *(use.timeout for use in uses)))
        return uses[refused - 1] if refused else None
    added: list[str] = []
    for use in uses:
        # One atomic add decides: of any number of workers presenting the same jti at once,
        # exactly one adds the entry.
        if not cache.add(use.key, 1, timeout=use.timeout):
            if added:
                cache.delete_many(added)  # the push is refused: its other tokens stay unused
            return use
        added.append(use.key)
    return None


def _redis_of(cache: BaseCache) -> tuple[Any, Callable[[str], str]] | None:
    """A Redis cache's client and how it spells a key (prefix and version applied), else None.

    Django's own backend keeps its client in ``_cache``; django-redis's in ``client``.
    """
    inner = getattr(cache, "_cache", None)
    if inner is not None and hasattr(inner, "get_client"):
        return inner.get_client(None, write=True), cache.make_and_validate_key
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client") and hasattr(client, "make_key"):
        return client.get_client(write=True), lambda key: str(client.make_key(key))
    return None
