"""A password hasher that counts how often it runs: the slow check, observed."""

from __future__ import annotations

import threading
from typing import Any

from django.contrib.auth.hashers import MD5PasswordHasher

_lock = threading.Lock()


class CountingHasher(MD5PasswordHasher):
    algorithm = "counting_md5"
    #: Secrets checked against a stored hash.
    verifications = 0
    #: Full hash computations of any kind: each verification, and each new hash made
    #: (the one run for an unknown client, say). Counted under a lock: tests run threads.
    hashes = 0

    def verify(self, password: str, encoded: str) -> bool:
        with _lock:
            type(self).verifications += 1
        return super().verify(password, encoded)

    def encode(self, password: str, salt: str, *args: Any, **kwargs: Any) -> str:
        with _lock:
            type(self).hashes += 1
        return super().encode(password, salt, *args, **kwargs)

    @classmethod
    def reset(cls) -> None:
        with _lock:
            cls.verifications = 0
            cls.hashes = 0
