"""Attacks on the PAR endpoint: floods without credentials, malformed URIs, values DOT cannot
store, authentication that depends on the wrong thing (issue 9, points 4, 6, 7 and 10)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import django
import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from django_oauth_par.models import ClientPolicy, PushedRequest

from .hashers import CountingHasher
from .helpers import SECRET, THREADS, auth_params, basic, concurrently, make_client, push

PUBLIC = "public-client"
ATTACKER = "203.0.113.66"
VISITOR = "198.51.100.20"


def public_push(http: Any, address: str = ATTACKER, **overrides: str) -> Any:
    params = auth_params(**{"client_id": PUBLIC, **overrides})
    return push(http, params, secret=None, REMOTE_ADDR=address)


def public_client_with_secret(secret: str, method: str = "client_secret_basic", **policy: Any) -> Any:
    """A public client with a secret, registered to present it (by default a public client may
    only authenticate by ``none``, and anything else is refused before these rules apply)."""
    from django_oauth_par.registration import dot_has_client_keys

    if dot_has_client_keys():
        application = make_client(PUBLIC, client_type="public", token_endpoint_auth_method=method)
        ClientPolicy.objects.create(application=application, **policy)
    else:
        application = make_client(PUBLIC, client_type="public")
        ClientPolicy.objects.create(application=application, token_endpoint_auth_method=method, **policy)
    application.client_secret = secret
    application.save()
    return application


def assert_refused(response: Any, status: int = 400, error: str = "invalid_request") -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == error


# --- 9.4: one address cannot spend what belongs to a public client's other users --------------


@override_settings(OAUTH2_PAR={"UNAUTHENTICATED_PUSH_RATE": "3/day"})
def test_a_flood_without_credentials_is_limited_per_address(client, public):
    assert [public_push(client).status_code for _ in range(5)] == [201, 201, 201, 429, 429]
    refused = public_push(client)
    assert_refused(refused, 429)
    assert int(refused["Retry-After"]) >= 1
    assert public_push(client, VISITOR).status_code == 201


@override_settings(
    OAUTH2_PAR={"UNAUTHENTICATED_PUSH_RATE": "3/day", "UNAUTHENTICATED_PENDING_PER_ADDRESS": 100}
)
def test_an_ipv6_address_counts_as_its_whole_slash_64(client, public):
    addresses = [f"2001:db8:1:2::{n:x}" for n in range(1, 6)]
    assert [public_push(client, address).status_code for address in addresses] == [201, 201, 201, 429, 429]
    assert public_push(client, "2001:db8:1:3::1").status_code == 201


@override_settings(OAUTH2_PAR={"PUSH_RATE": "2/day", "UNAUTHENTICATED_PUSH_RATE": "100/day"})
def test_push_rate_cannot_be_spent_for_a_public_client_by_one_address(client, public):
    assert {public_push(client).status_code for _ in range(10)} == {201}
    assert public_push(client, VISITOR).status_code == 201


@override_settings(
    OAUTH2_PAR={
        "UNAUTHENTICATED_PUSH_RATE": None,
        "UNAUTHENTICATED_PENDING_PER_ADDRESS": 3,
        "UNAUTHENTICATED_PENDING_PER_CLIENT": 5,
    }
)
def test_a_flood_neither_locks_out_another_address_nor_grows_the_table(client, public):
    flood = [public_push(client).status_code for _ in range(20)]
    assert flood == [201] * 3 + [429] * 17
    assert_refused(public_push(client), 429)
    assert PushedRequest.objects.count() == 3
    assert public_push(client, VISITOR).status_code == 201

    # Many addresses together reach the client's bound, and the table stops there.
    for n in range(20):
        public_push(client, f"192.0.2.{n}")
    assert PushedRequest.objects.filter(application=public).count() == 5


@override_settings(
    OAUTH2_PAR={
        "UNAUTHENTICATED_PUSH_RATE": None,
        "UNAUTHENTICATED_PENDING_PER_ADDRESS": 3,
        "UNAUTHENTICATED_PENDING_PER_CLIENT": 5,
    }
)
def test_expired_unredeemed_pushes_make_room_and_do_not_pile_up(client, public):
    for n in range(10):
        public_push(client, f"192.0.2.{n}")
    assert PushedRequest.objects.count() == 5
    for round_ in range(4):  # each round: all of them expire, and a new flood comes
        PushedRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        statuses = [public_push(client, f"192.0.2.{round_}{n}").status_code for n in range(10)]
        assert statuses == [201] * 5 + [429] * 5
        assert PushedRequest.objects.count() == 5
    # An address whose pushes expired may push again.
    assert public_push(client, "192.0.2.30").status_code == 429  # the client is full of live ones
    PushedRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert public_push(client, "192.0.2.30").status_code == 201


@pytest.mark.skipif(
    connection.vendor == "sqlite" and django.VERSION < (5, 1),
    reason="SQLite before Django 5.1 cannot take the write lock up front, so concurrent writers get "
    "'database is locked' (a 503), as the README says; the bound is held on PostgreSQL and newer Django",
)
@pytest.mark.django_db(transaction=True)
@override_settings(
    OAUTH2_PAR={
        "UNAUTHENTICATED_PUSH_RATE": None,
        "UNAUTHENTICATED_PENDING_PER_ADDRESS": 3,
        "UNAUTHENTICATED_PENDING_PER_CLIENT": 5,
    }
)
def test_a_concurrent_flood_stops_at_the_bounds_too():
    make_client(PUBLIC, client_type="public")
    from_one = concurrently(THREADS, lambda http: public_push(http))
    assert Counter(response.status_code for response in from_one) == {201: 3, 429: THREADS - 3}
    from_many = concurrently(THREADS, lambda http: public_push(http, f"192.0.2.{id(http) % 250}"))
    assert {response.status_code for response in from_many} <= {201, 429}
    assert PushedRequest.objects.count() == 5


@override_settings(
    OAUTH2_PAR={"UNAUTHENTICATED_PENDING_PER_ADDRESS": 2, "UNAUTHENTICATED_PENDING_PER_CLIENT": 2}
)
def test_authenticated_pushes_are_not_bounded_by_the_public_caps(client, confidential, public):
    assert {push(client, auth_params(), REMOTE_ADDR=ATTACKER).status_code for _ in range(5)} == {201}


def test_the_address_is_stored_as_a_keyed_hash_only(client, public):
    assert public_push(client).status_code == 201
    row = PushedRequest.objects.get()
    assert len(row.address_digest) == 64
    assert ATTACKER not in str(row.__dict__)
    assert ATTACKER.encode() not in str(list(PushedRequest.objects.values_list())).encode()


@override_settings(OAUTH2_PAR={"UNAUTHENTICATED_MAX_BODY_BYTES": 1024})
def test_pushes_without_credentials_have_a_smaller_size_limit(client, confidential, public):
    padding = "x" * 1200
    assert_refused(public_push(client, login_hint=padding), 413)
    assert push(client, auth_params(login_hint=padding)).status_code == 201
    assert PushedRequest.objects.filter(application=public).count() == 0


@override_settings(OAUTH2_PAR={"UNAUTHENTICATED_PUSH_RATE": "2/day", "UNAUTHENTICATED_MAX_BODY_BYTES": 1024})
def test_a_public_clients_secret_does_not_lift_the_public_limits(client, db):
    """A public client cannot keep a secret (RFC 6749 §2.1): whoever presents it is limited alike."""
    public_client_with_secret("")
    sent = [
        push(client, auth_params(client_id=PUBLIC), client_id=PUBLIC, secret="", REMOTE_ADDR=ATTACKER)
        for _ in range(3)
    ]
    assert [response.status_code for response in sent] == [201, 201, 429]
    big = push(client, auth_params(client_id=PUBLIC, login_hint="x" * 1200), client_id=PUBLIC, secret="")
    assert_refused(big, 413)


def test_defaults_bound_pushes_without_credentials(client, public):
    """Without any setting, one address gets a bounded number of pushes through."""
    statuses = [public_push(client).status_code for _ in range(40)]
    assert 1 <= statuses.count(201) <= 30
    assert set(statuses) == {201, 429}


# --- 9.10: authentication is decided by the credentials, not by grant_type -------------------

GRANT_TYPES = [
    "urn:ietf:params:oauth:grant-type:device_code",
    "client_credentials",
    "authorization_code",
    "password",
    "refresh_token",
]


@pytest.mark.parametrize("grant_type", GRANT_TYPES)
@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_public_client_with_a_wrong_secret_is_refused_whatever_the_grant_type(
    client, db, grant_type, method
):
    public_client_with_secret(SECRET, method)
    params = auth_params(client_id=PUBLIC, grant_type=grant_type)

    def send(secret: str) -> Any:
        if method == "client_secret_basic":
            return push(client, params, client_id=PUBLIC, secret=secret)
        return push(client, {**params, "client_secret": secret}, secret=None)

    assert_refused(send("wrong"), 401, "invalid_client")
    assert PushedRequest.objects.count() == 0
    assert send(SECRET).status_code == 201


@pytest.mark.parametrize("grant_type", GRANT_TYPES)
def test_a_public_client_registered_for_none_is_refused_any_secret(client, db, grant_type):
    make_client(PUBLIC, client_type="public")
    params = auth_params(client_id=PUBLIC, grant_type=grant_type)
    assert_refused(push(client, params, client_id=PUBLIC, secret="wrong"), 401, "invalid_client")
    assert_refused(push(client, {**params, "client_secret": "wrong"}, secret=None), 401, "invalid_client")
    assert push(client, params, secret=None).status_code == 201


@override_settings(PASSWORD_HASHERS=["tests.hashers.CountingHasher"])
@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda http: push(http, auth_params(), secret="wrong"), id="known-wrong-basic"),
        pytest.param(
            lambda http: push(http, auth_params(client_id="nobody"), client_id="nobody", secret="x"),
            id="unknown-basic",
        ),
        pytest.param(
            lambda http: push(http, auth_params(client_secret="wrong"), secret=None), id="known-wrong-body"
        ),
        pytest.param(
            lambda http: push(http, auth_params(client_id="nobody", client_secret="x"), secret=None),
            id="unknown-body",
        ),
        pytest.param(
            lambda http: push(http, auth_params(), secret=None, HTTP_AUTHORIZATION="Basic !!!"),
            id="undecodable-basic",
        ),
    ],
)
def test_unknown_and_known_clients_with_wrong_secrets_pay_one_hash_each(client, db, send):
    make_client("conf-client")
    CountingHasher.reset()
    assert send(client).status_code == 401
    assert CountingHasher.hashes == 1


@override_settings(PASSWORD_HASHERS=["tests.hashers.CountingHasher"])
def test_a_push_without_credentials_hashes_nothing(client, db):
    make_client(PUBLIC, client_type="public")
    CountingHasher.reset()
    assert public_push(client).status_code == 201
    assert public_push(client, client_id="nobody").status_code == 401
    assert CountingHasher.hashes == 0


# --- 9.10: prompt=create only where the site supports it --------------------------------------


@pytest.mark.parametrize("prompt", ["create", "create login", "login create"])
def test_prompt_create_is_refused_where_the_site_does_not_support_it(client, confidential, prompt):
    assert_refused(push(client, auth_params(prompt=prompt)))
    assert PushedRequest.objects.count() == 0


def test_prompt_create_is_accepted_where_the_site_supports_it(client, confidential, settings):
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_RP_INITIATED_REGISTRATION_ENABLED": True,
        "OIDC_RP_INITIATED_REGISTRATION_URL": "/accounts/signup/",
    }
    assert push(client, auth_params(prompt="create")).status_code == 201


# --- 9.6: malformed URIs are a 400, never a 500 -----------------------------------------------

MALFORMED_URIS = [
    "http://[",
    "http://[::1",
    "https://[zz::1]/",
    "https://[::1]]/",
    "https://[v1.x]/",
    "https://[::1]:99999/",
    "https://api.example:65536/",
    "https://api.example:99999/callback",
    "https://api.example:-1/",
    "https://api.example:1_0/",
    "https://api.example:\uff18\uff10/",  # fullwidth digits, which int() would read as 80
    "https://api.example:0x50/",
    "https://ex%zzample/",
    "https://api.example/a%2",
    "https://api.example/%",
    "https://bücher.example/",
    "https://\u0130.example/",
    "https://api.example/\u0130",
    "https://api.example/a b",
    "https://api.example/a\tb",
    "https://api]example/",
    "https://api.example/[x]",
    "https://user@[::1/",
    "https://api.example\\@evil.example/",
    "1http://api.example/",
    "://api.example/",
]


@pytest.mark.parametrize("uri", MALFORMED_URIS)
@pytest.mark.parametrize(
    ("name", "error"), [("redirect_uri", "invalid_request"), ("resource", "invalid_target")]
)
def test_a_malformed_uri_is_refused_not_a_500(client, confidential, public, uri, name, error):
    client.raise_request_exception = False
    assert_refused(push(client, auth_params(**{name: uri})), 400, error)
    assert_refused(public_push(client, **{name: uri}), 400, error)
    assert PushedRequest.objects.count() == 0


def test_a_malformed_uri_among_several_resources_is_refused(client, confidential):
    client.raise_request_exception = False
    pairs = [*auth_params().items(), ("resource", "https://api.example/ok"), ("resource", "http://[")]
    assert_refused(push(client, pairs), 400, "invalid_target")


@pytest.mark.parametrize(
    "uri",
    [
        "https://api.example:443/x?a=%2F&b=1",
        "https://[2001:db8::1]:8443/api",
        "https://xn--bcher-kva.example/",
    ],
)
def test_well_formed_resources_pass_the_uri_check(client, confidential, uri):
    assert push(client, auth_params(resource=uri)).status_code == 201


# --- 9.7: nothing DOT cannot store is accepted --------------------------------------------------

Grant = get_grant_model()


def dot_limit(field: str) -> int:
    max_length = Grant._meta.get_field(field).max_length
    assert max_length is not None
    return int(max_length)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("nonce", "n" * (dot_limit("nonce") + 1)),
        ("nonce", "n" * 384),
        ("code_challenge", "c" * (dot_limit("code_challenge") + 1)),
        ("code_challenge_method", "S256" + "x" * dot_limit("code_challenge_method")),
    ],
)
def test_a_value_longer_than_dot_stores_is_refused_at_push_time(client, confidential, public, name, value):
    assert_refused(push(client, auth_params(scope="openid", **{name: value})))
    assert_refused(public_push(client, scope="openid", **{name: value}))
    assert PushedRequest.objects.count() == 0


def test_a_value_as_long_as_dot_stores_is_accepted(client, confidential):
    response = push(client, auth_params(scope="openid", nonce="n" * dot_limit("nonce")))
    assert response.status_code == 201


def test_the_limits_are_read_from_the_models_in_use(client, confidential, monkeypatch):
    """A site whose grant model stores less gets its own limit, not DOT's default one."""
    field = Grant._meta.get_field("nonce")
    monkeypatch.setattr(field, "max_length", 16)
    assert_refused(push(client, auth_params(scope="openid", nonce="n" * 17)))
    assert push(client, auth_params(scope="openid", nonce="n" * 16)).status_code == 201


def test_a_client_secret_never_appears_in_a_refusal(client, confidential):
    client.raise_request_exception = False
    response = push(client, auth_params(client_secret=SECRET, resource="http://["), secret=None)
    assert response.status_code == 400
    assert SECRET not in response.content.decode()
    assert basic("conf-client", SECRET) not in response.content.decode()


def test_the_query_budget_of_a_push_without_credentials(client, public, django_assert_num_queries, settings):
    # The client with its policy (one query), then in one transaction (joined, not a savepoint):
    # lock the client's row, count its unredeemed pushes, insert. (The audit chain's own writes
    # are counted in test_query_budget.)
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUDIT_TRAIL": False}
    public_push(client, VISITOR)  # the first request of a process also checks the tables once
    with django_assert_num_queries(4):
        assert public_push(client).status_code == 201


# --- A public client's "secret" authenticates nothing, for any rule ---------------------------

TENANT_URI = "https://acme.tenant.example.com/callback"


def empty_secret_push(http: Any, **overrides: str) -> Any:
    """A public client whose stored secret is empty, sending Basic with that empty secret."""
    return push(http, auth_params(**{"client_id": PUBLIC, **overrides}), client_id=PUBLIC, secret="")


@pytest.mark.parametrize("switch", ["server", "client"])
def test_an_empty_public_secret_does_not_satisfy_required_authentication(client, db, switch, settings):
    application = public_client_with_secret("")
    if switch == "server":
        settings.OAUTH2_PAR = {"REQUIRE_AUTHENTICATED_PUSH": True}
    else:
        ClientPolicy.objects.filter(application=application).update(require_authenticated_push=True)
    assert_refused(empty_secret_push(client), 401, "invalid_client")
    assert not PushedRequest.objects.exists()


def test_an_empty_public_secret_does_not_unlock_redirect_uri_patterns(client, db):
    public_client_with_secret("", redirect_uri_patterns="https://*.tenant.example.com/callback")
    assert empty_secret_push(client, redirect_uri=TENANT_URI).status_code == 400
    assert empty_secret_push(client).status_code == 201
    assert PushedRequest.objects.get().client_authenticated is False


@override_settings(PASSWORD_HASHERS=["tests.hashers.CountingHasher"])
def test_a_private_key_jwt_push_pays_no_hash(client, db):
    from . import signing
    from .helpers import key_push

    signing.make_key_client()
    CountingHasher.reset()
    assert key_push(client).status_code == 201
    assert key_push(client, token="not-a-jwt").status_code == 401
    assert CountingHasher.hashes == 0
