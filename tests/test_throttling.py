"""Push rates (PUSH_RATE) and failed-authentication rates (FAILED_AUTHENTICATION_RATE).

Every rate here counts in a window of a day: the counters are fixed windows, and a test that
counts exactly must not see a new window begin halfway through (a minute turns often enough to
make a one-minute window flaky).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from django.db import DatabaseError
from django.test import override_settings

from django_oauth_par.models import PushedRequest

from .hashers import CountingHasher
from .helpers import (
    BROKEN_CACHES,
    SECRET,
    THREADS,
    auth_params,
    concurrently,
    forget_redis_cache,
    make_client,
    private_redis_cache,
    push,
)


@override_settings(OAUTH2_PAR={"PUSH_RATE": "3/day"})
def test_a_client_pushing_too_fast_gets_429_with_retry_after(client, confidential):
    statuses = [push(client, auth_params()).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    stored = PushedRequest.objects.count()
    response = push(client, auth_params())
    assert response.status_code == 429
    assert response.json()["error"] == "invalid_request"
    assert 1 <= int(response["Retry-After"]) <= 86400
    assert response["Cache-Control"] == "no-store"
    assert PushedRequest.objects.count() == stored


@override_settings(OAUTH2_PAR={"PUSH_RATE": "2/day"})
def test_the_push_rate_is_per_client(client, confidential):
    make_client("second-client")
    assert [push(client, auth_params()).status_code for _ in range(3)] == [201, 201, 429]
    params = auth_params(client_id="second-client")
    assert push(client, params, client_id="second-client").status_code == 201


def test_no_push_rate_by_default(client, confidential):
    assert {push(client, auth_params()).status_code for _ in range(20)} == {201}


@override_settings(
    OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "3/day"}, PASSWORD_HASHERS=["tests.hashers.CountingHasher"]
)
def test_an_address_guessing_secrets_is_stopped_before_any_hash(client, db):
    make_client("conf-client")
    CountingHasher.verifications = 0
    guesses = [push(client, auth_params(), secret=f"guess-{n}").status_code for n in range(3)]
    assert guesses == [401, 401, 401]
    assert CountingHasher.verifications == 3
    refused = push(client, auth_params(), secret=SECRET)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert CountingHasher.verifications == 3  # the right secret was not even hashed
    other_address = push(client, auth_params(), secret=SECRET, REMOTE_ADDR="198.51.100.7")
    assert other_address.status_code == 201


@override_settings(OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "2/day"})
def test_successful_pushes_do_not_count_as_failures(client, confidential):
    assert {push(client, auth_params()).status_code for _ in range(5)} == {201}


# --- Slots are taken before the hash, atomically: concurrent requests against Redis ---------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


@pytest.fixture
def redis_cache() -> Any:
    """Counters in Redis (TEST_REDIS_URL), under keys of this test's own."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "par": private_redis_cache(REDIS_URL),
    }
    with override_settings(CACHES=caches):
        yield
    forget_redis_cache(caches["par"])


def statuses(results: list[Any]) -> Counter[int]:
    assert all(not isinstance(result, BaseException) for result in results), results
    return Counter(result.status_code for result in results)


@pytest.mark.django_db(transaction=True)
@override_settings(PASSWORD_HASHERS=["tests.hashers.CountingHasher"])
def test_concurrent_guesses_pay_at_most_the_limit_in_hashes(redis_cache):
    make_client("conf-client")
    CountingHasher.reset()
    with override_settings(OAUTH2_PAR={"CACHE_ALIAS": "par", "FAILED_AUTHENTICATION_RATE": "5/day"}):
        results = concurrently(THREADS, lambda http: push(http, auth_params(), secret="wrong-guess"))
    assert statuses(results) == {401: 5, 429: THREADS - 5}
    assert CountingHasher.hashes == 5
    assert PushedRequest.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@override_settings(PASSWORD_HASHERS=["tests.hashers.CountingHasher"])
def test_concurrent_guesses_at_unknown_clients_pay_at_most_the_limit_in_hashes(redis_cache):
    make_client("conf-client")
    CountingHasher.reset()
    with override_settings(OAUTH2_PAR={"CACHE_ALIAS": "par", "FAILED_AUTHENTICATION_RATE": "5/day"}):
        results = concurrently(
            THREADS,
            lambda http: push(http, auth_params(client_id="nobody"), client_id="nobody", secret="guess"),
        )
    assert statuses(results) == {401: 5, 429: THREADS - 5}
    assert CountingHasher.hashes == 5


@pytest.mark.django_db(transaction=True)
@override_settings(PASSWORD_HASHERS=["tests.hashers.CountingHasher"])
def test_concurrent_pushes_past_the_push_rate_are_refused_before_the_hash(redis_cache):
    make_client("conf-client")
    CountingHasher.reset()
    with override_settings(OAUTH2_PAR={"CACHE_ALIAS": "par", "PUSH_RATE": "5/day"}):
        results = concurrently(THREADS, lambda http: push(http, auth_params()))
    assert statuses(results) == {201: 5, 429: THREADS - 5}
    assert CountingHasher.hashes == 5
    assert PushedRequest.objects.count() == 5


@override_settings(OAUTH2_PAR={"PUSH_RATE": "2/day"}, PASSWORD_HASHERS=["tests.hashers.CountingHasher"])
def test_failed_authentications_do_not_spend_the_clients_push_rate(client, db):
    make_client("conf-client")
    guesses = [push(client, auth_params(), secret=f"guess-{n}").status_code for n in range(5)]
    assert guesses == [401] * 5
    assert [push(client, auth_params()).status_code for _ in range(3)] == [201, 201, 429]


@override_settings(OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "2/day", "PUSH_RATE": "1/day"})
def test_a_push_refused_by_the_push_rate_is_no_failed_authentication(client, confidential):
    assert [push(client, auth_params()).status_code for _ in range(4)] == [201, 429, 429, 429]
    # The address has not used up its failures: a wrong secret is still judged, and answered 401.
    assert push(client, auth_params(), secret="wrong").status_code in (401, 429)
    other = make_client("second-client")
    assert push(client, auth_params(client_id=other.client_id), client_id=other.client_id).status_code == 201


# --- A cache outage: throttles fail closed, the verified-secret cache falls back ----------------


@pytest.mark.parametrize("broken", BROKEN_CACHES)
@pytest.mark.parametrize(
    ("rates", "client_id", "secret"),
    [
        ({"FAILED_AUTHENTICATION_RATE": "5/day"}, "conf-client", SECRET),
        ({"PUSH_RATE": "5/day"}, "conf-client", SECRET),
        ({}, "public-client", None),  # UNAUTHENTICATED_PUSH_RATE is on by default
    ],
)
def test_a_cache_outage_fails_closed_with_503(client, confidential, public, broken, rates, client_id, secret):
    client.raise_request_exception = False
    caches_setting = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "par": broken}
    with override_settings(CACHES=caches_setting, OAUTH2_PAR={"CACHE_ALIAS": "par", **rates}):
        response = push(client, auth_params(client_id=client_id), client_id=client_id, secret=secret)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "temporarily_unavailable"
    assert SECRET not in response.content.decode()
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize("broken", BROKEN_CACHES)
@override_settings(PASSWORD_HASHERS=["tests.hashers.CountingHasher"])
def test_without_the_cache_the_secret_is_checked_in_full(client, db, broken):
    make_client("conf-client")
    CountingHasher.reset()
    caches_setting = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "par": broken}
    settings_ = {"CACHE_ALIAS": "par", "VERIFIED_SECRET_CACHE_SECONDS": 300}
    with override_settings(CACHES=caches_setting, OAUTH2_PAR=settings_):
        assert [push(client, auth_params()).status_code for _ in range(2)] == [201, 201]
        assert push(client, auth_params(), secret="wrong").status_code == 401
    assert CountingHasher.verifications == 3


@override_settings(OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "1/day", "PUSH_RATE": "1/day"})
def test_a_database_fault_during_authentication_gives_both_slots_back(client, confidential, monkeypatch):
    from oauth2_provider.oauth2_validators import OAuth2Validator

    def broken(self: Any, client_id: str, request: Any) -> Any:
        raise DatabaseError("the database went away")

    client.raise_request_exception = False
    with monkeypatch.context() as patch:
        patch.setattr(OAuth2Validator, "_load_application", broken)
        assert [push(client, auth_params()).status_code for _ in range(3)] == [503, 503, 503]
    assert push(client, auth_params()).status_code == 201
