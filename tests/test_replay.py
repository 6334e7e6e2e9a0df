"""Each jti used once (replay.py): a push's assertion and request object are recorded together.

A push that carries a client assertion and a request object records both ``jti`` values in one
cache round trip on Redis, and a refused push records neither, on Redis and on any other cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import Client, override_settings

from django_oauth_par.models import PushedRequest

from . import signing
from .helpers import (
    BROKEN_CACHES,
    CHALLENGE,
    REDIRECT_URI,
    REDIS_URL,
    forget_redis_cache,
    private_redis_cache,
    push,
)
from .signing import (
    assertion,
    assertion_params,
    make_key_client,
    only_where_this_app_verifies_keys,
    private_key,
    request_object,
)

AUTHORIZATION = {
    "client_id": "key-client",
    "response_type": "code",
    "redirect_uri": REDIRECT_URI,
    "scope": "read",
    "code_challenge": CHALLENGE,
    "code_challenge_method": "S256",
}


@pytest.fixture(params=["locmem", "redis"])
def cache(request: Any, db: Any) -> Iterator[str]:
    """The shared cache, of each kind: Redis is recorded by one script, other caches by add()."""
    if request.param == "redis":
        entry = private_redis_cache(REDIS_URL)
    else:
        entry = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "replay"}
    with override_settings(CACHES={"default": entry}):
        yield request.param
    if request.param == "redis":
        forget_redis_cache(entry)


@pytest.fixture
def key_client(cache: str) -> Any:
    """A client authenticating with an EC key and signing its requests with an RSA key (PS256)."""
    return make_key_client("key-client", private_key("EC"), private_key("RSA"))


def a_request_object(**overrides: Any) -> str:
    return request_object("key-client", AUTHORIZATION, private_key("RSA"), "PS256", **overrides)


def an_assertion() -> str:
    return assertion("key-client", aud=signing.PAR_ENDPOINT)


def signed_push(http: Client, assertion_token: str, request_token: str) -> Any:
    body = {
        "client_id": "key-client",
        "request": request_token,
        **assertion_params("key-client", assertion_token),
    }
    return push(http, body, secret=None)


@pytest.mark.parametrize("cache", ["redis"], indirect=True)
def test_a_push_records_both_jtis_in_one_round_trip_on_redis(client, key_client, monkeypatch):
    commands: list[tuple[Any, ...]] = []
    send = redis.Redis.execute_command

    def counting(self: redis.Redis, *args: Any, **options: Any) -> Any:
        if any(isinstance(arg, str) and "oauth_par:jti:" in arg for arg in args):
            commands.append(args)
        return send(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    token, request_token = an_assertion(), a_request_object()
    assert signed_push(client, token, request_token).status_code == 201
    assert len(commands) == 1, [command[0] for command in commands]
    assert signed_push(client, token, request_token).status_code == 401  # and both are recorded


@only_where_this_app_verifies_keys
def test_a_replayed_assertion_leaves_the_fresh_request_object_unused(client, key_client):
    token = an_assertion()
    assert signed_push(client, token, a_request_object()).status_code == 201
    fresh = a_request_object()
    replayed = signed_push(client, token, fresh)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_client"
    assert "used before" in replayed.json()["error_description"]
    assert replayed.has_header("WWW-Authenticate")
    assert signed_push(client, an_assertion(), fresh).status_code == 201
    assert PushedRequest.objects.count() == 2


@only_where_this_app_verifies_keys
def test_a_replayed_request_object_leaves_the_fresh_assertion_unused(client, key_client):
    request_token = a_request_object()
    assert signed_push(client, an_assertion(), request_token).status_code == 201
    fresh = an_assertion()
    replayed = signed_push(client, fresh, request_token)
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_request_object"
    assert signed_push(client, fresh, a_request_object()).status_code == 201
    assert PushedRequest.objects.count() == 2


@only_where_this_app_verifies_keys
def test_a_refused_request_object_uses_up_no_assertion(client, key_client):
    token = an_assertion()
    forged = request_object("key-client", AUTHORIZATION, private_key("RSA", kid="not-registered"), "PS256")
    assert signed_push(client, token, forged).status_code == 400
    for_elsewhere = a_request_object(aud="https://elsewhere.example")
    assert signed_push(client, token, for_elsewhere).status_code == 400
    assert signed_push(client, token, a_request_object()).status_code == 201


@only_where_this_app_verifies_keys
def test_a_replayed_assertion_counts_as_a_failed_authentication(client, key_client):
    token = an_assertion()
    with override_settings(OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "2/day"}):
        assert signed_push(client, token, a_request_object()).status_code == 201
        assert signed_push(client, token, a_request_object()).status_code == 401
        assert signed_push(client, token, a_request_object()).status_code == 401
        # Two failures from this address: the next push is refused before it is authenticated.
        assert signed_push(client, an_assertion(), a_request_object()).status_code == 429


def test_a_plain_assertion_is_still_recorded_alone(client, key_client):
    """Without a request object the assertion's jti is recorded as before (one add)."""
    token = an_assertion()
    body = {**AUTHORIZATION, **assertion_params("key-client", token)}
    assert push(client, body, secret=None).status_code == 201
    assert push(client, body, secret=None).status_code == 401


@pytest.mark.parametrize("broken", BROKEN_CACHES)
@pytest.mark.parametrize(
    "with_request_object",
    [
        # Where DOT verifies assertions, their jti is DOT's to store, in its own (default) cache.
        pytest.param(False, id="assertion", marks=only_where_this_app_verifies_keys),
        pytest.param(True, id="assertion-and-object"),
    ],
)
def test_a_jti_store_outage_fails_closed_with_503(client, db, broken, with_request_object):
    """Without the store a replay cannot be told apart: the push is refused, never a 500."""
    make_key_client("key-client", private_key("EC"), private_key("RSA"))
    client.raise_request_exception = False
    caches_setting = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "par": broken}
    with override_settings(CACHES=caches_setting, OAUTH2_PAR={"CACHE_ALIAS": "par"}):
        if with_request_object:
            response = signed_push(client, an_assertion(), a_request_object())
        else:
            body = {**AUTHORIZATION, **assertion_params("key-client", an_assertion())}
            response = push(client, body, secret=None)
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "temporarily_unavailable"
    assert not PushedRequest.objects.exists()
