"""Redis round trips per request, counted in the worker that makes them (bench only).

Django's ``RedisCache`` hands ``OPTIONS["connection_class"]`` to redis-py's connection pool;
:class:`CountingConnection` counts every packed send, which is one round trip: a single
command, or a whole pipeline. It also counts the sends that carry a ``jti`` key of this app
(``oauth_par:jti:``), so the cost of the replay store shows apart from the rest.

Counting in the worker, rather than reading ``INFO commandstats`` on the server, keeps the
figures exact on a Redis that other people's processes use at the same time.
``bench.middleware.MeasureMiddleware`` resets the counts at the start of each request and
reports them in response headers.
"""

from __future__ import annotations

import threading
from typing import Any

from redis.connection import Connection

#: What every key of the app's jti store contains (``django_oauth_par.jose.use_once``).
JTI_KEY_MARK = b"oauth_par:jti:"

_counts = threading.local()


def reset() -> None:
    _counts.total = 0
    _counts.jti = 0


def counted() -> tuple[int, int]:
    """(round trips, of which carried a jti key) since the last :func:`reset` in this thread."""
    return getattr(_counts, "total", 0), getattr(_counts, "jti", 0)


class CountingConnection(Connection):
    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        chunks = [command] if isinstance(command, (str, bytes)) else command
        _counts.total = getattr(_counts, "total", 0) + 1
        # The packer keeps each argument whole inside one chunk (only large values get chunks
        # of their own), so a key never straddles two chunks.
        if any(JTI_KEY_MARK in _as_bytes(chunk) for chunk in chunks):
            _counts.jti = getattr(_counts, "jti", 0) + 1
        super().send_packed_command(command, check_health)


def _as_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode()
    return bytes(chunk)
