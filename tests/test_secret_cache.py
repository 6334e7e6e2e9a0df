"""The verified-secret cache: one slow check, then fast; never the secret in the cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import TokenView

from django_oauth_par.secret_cache import VerifiedSecretCacheMixin

from .hashers import CountingHasher
from .helpers import SECRET, TOKEN_URL, auth_params, basic, form_post, make_client, push

HASHERS = ["tests.hashers.CountingHasher"]
CACHED = {"VERIFIED_SECRET_CACHE_SECONDS": 300}


class CachingValidator(VerifiedSecretCacheMixin, OAuth2Validator):
    pass


@pytest.fixture
def hashed_client(db):
    with override_settings(PASSWORD_HASHERS=HASHERS):
        app = make_client("conf-client")
    assert app.client_secret.startswith("counting_md5$")
    CountingHasher.verifications = 0
    return app


def pushes(client, times, secret=SECRET):
    return [push(client, auth_params(), secret=secret).status_code for _ in range(times)]


@override_settings(PASSWORD_HASHERS=HASHERS)
def test_off_by_default_every_push_pays_the_hash(client, hashed_client):
    assert pushes(client, 3) == [201, 201, 201]
    assert CountingHasher.verifications == 3


@override_settings(PASSWORD_HASHERS=HASHERS, OAUTH2_PAR=CACHED)
def test_one_slow_check_then_cached(client, hashed_client):
    assert pushes(client, 4) == [201] * 4
    assert CountingHasher.verifications == 1


@override_settings(PASSWORD_HASHERS=HASHERS, OAUTH2_PAR=CACHED)
def test_wrong_secrets_always_pay_and_are_never_cached(client, hashed_client):
    assert pushes(client, 1) == [201]
    assert pushes(client, 3, secret="wrong") == [401, 401, 401]
    assert CountingHasher.verifications == 4
    assert pushes(client, 1) == [201]
    assert CountingHasher.verifications == 4


@override_settings(PASSWORD_HASHERS=HASHERS, OAUTH2_PAR=CACHED)
def test_the_cache_holds_no_secret(client, hashed_client):
    assert pushes(client, 1) == [201]
    stored = [cache.get(key) for key in cache._cache]  # locmem: every key is inspectable
    assert stored, "nothing was cached"
    for value in stored:
        assert SECRET not in str(value)


@override_settings(PASSWORD_HASHERS=HASHERS, OAUTH2_PAR=CACHED)
def test_a_changed_secret_invalidates_at_once(client, hashed_client):
    assert pushes(client, 1) == [201]
    hashed_client.client_secret = "the-new-secret"
    hashed_client.save()
    assert pushes(client, 1) == [401]
    assert pushes(client, 1, secret="the-new-secret") == [201]


@override_settings(PASSWORD_HASHERS=HASHERS, OAUTH2_PAR=CACHED)
def test_a_deleted_client_is_refused_at_once(client, hashed_client):
    assert pushes(client, 1) == [201]
    hashed_client.delete()
    assert pushes(client, 1) == [401]


@override_settings(PASSWORD_HASHERS=HASHERS, OAUTH2_PAR={"VERIFIED_SECRET_CACHE_SECONDS": 0})
def test_zero_turns_it_off(client, hashed_client):
    assert pushes(client, 2) == [201, 201]
    assert CountingHasher.verifications == 2


@pytest.fixture
def fresh_token_core():
    """DOT's TokenView keeps its oauthlib core on the class; rebuild it around the test."""

    def forget() -> None:
        if "_oauthlib_core" in TokenView.__dict__:
            del TokenView._oauthlib_core

    forget()
    yield
    forget()


def test_token_endpoint_uses_the_cache_through_the_mixin(client, db, fresh_token_core):
    with override_settings(PASSWORD_HASHERS=HASHERS):
        app = get_application_model().objects.create(
            client_id="cc-client",
            client_secret=SECRET,
            client_type="confidential",
            authorization_grant_type="client-credentials",
            name="cc",
        )
    CountingHasher.verifications = 0
    provider = {**oauth2_settings.user_settings, "OAUTH2_VALIDATOR_CLASS": f"{__name__}.CachingValidator"}
    with override_settings(PASSWORD_HASHERS=HASHERS, OAUTH2_PAR=CACHED, OAUTH2_PROVIDER=provider):
        statuses = [
            form_post(
                client,
                TOKEN_URL,
                {"grant_type": "client_credentials", "scope": "read"},
                HTTP_AUTHORIZATION=basic(app.client_id, SECRET),
            ).status_code
            for _ in range(3)
        ]
    assert statuses == [200, 200, 200]
    assert CountingHasher.verifications == 1
