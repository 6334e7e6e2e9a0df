"""Registering client keys: what a JWK Set may hold, and fetching one from jwks_uri."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from django_oauth_par import keys
from django_oauth_par.keys import ClientKeys, InvalidKeySetError, KeySetUnavailableError, parse_jwk_set
from django_oauth_par.models import ClientPolicy

from .helpers import make_client
from .keyserver import KeyServer, running
from .signing import private_key, private_set, public_set

HTTP_ALLOWED = {"OAUTH2_PAR": {"JWKS_URI_ALLOW_HTTP": True}}


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    yield from running()


@pytest.mark.parametrize("kind", ["RSA", "EC", "EC384", "OKP"])
def test_each_supported_key_type_is_accepted_and_described(kind):
    key = private_key(kind)
    keyset = parse_jwk_set(public_set(key))
    (row,) = keys.describe(keyset)
    assert row.kid == kind.lower()
    assert row.thumbprint == key.thumbprint()  # RFC 7638, SHA-256
    stored = json.loads(keys.public_json(keyset))
    assert "d" not in stored["keys"][0]


@pytest.mark.parametrize("kind", ["RSA", "EC", "OKP"])
def test_a_private_key_is_refused_without_repeating_it(kind):
    key = private_key(kind)
    pasted = private_set(key)
    with pytest.raises(InvalidKeySetError) as caught:
        parse_jwk_set(pasted)
    message = str(caught.value)
    assert "private" in message
    private_value = json.loads(key.export_private())["d"]
    assert private_value not in message


def test_a_symmetric_key_is_refused():
    with pytest.raises(InvalidKeySetError, match="private or secret"):
        parse_jwk_set(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ('{"keys": {}}', "JSON object"),
        ('{"keys": []}', "no keys"),
        ('{"keys": ["x"]}', "not a JSON object"),
        ('{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}', "well-formed"),
        ('{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}', "well-formed"),
        ('{"keys": [{"kty": "XYZ"}]}', "key type"),
        ("[" * 100000 + "]" * 100000, "not JSON"),
    ],
)
def test_malformed_sets_are_refused_clearly(text, message):
    with pytest.raises(InvalidKeySetError, match=message):
        parse_jwk_set(text)


def test_weak_and_unsupported_keys_are_refused():
    with pytest.raises(InvalidKeySetError, match="1024 bits"):
        parse_jwk_set(public_set(private_key("RSA1024")))
    with pytest.raises(InvalidKeySetError, match="P-521"):
        parse_jwk_set(public_set(private_key("EC521")))


def test_encryption_keys_duplicate_kids_and_contradicting_algs_are_refused():
    member = json.loads(private_key("EC").export_public())
    with pytest.raises(InvalidKeySetError, match="signing"):
        parse_jwk_set(json.dumps({"keys": [{**member, "use": "enc"}]}))
    with pytest.raises(InvalidKeySetError, match="kid"):
        parse_jwk_set(json.dumps({"keys": [member, member]}))
    with pytest.raises(InvalidKeySetError, match="cannot verify"):
        parse_jwk_set(json.dumps({"keys": [{**member, "alg": "RS256"}]}))
    with pytest.raises(InvalidKeySetError, match="HS256"):
        parse_jwk_set(json.dumps({"keys": [{**member, "alg": "HS256"}]}))


def test_a_policy_with_a_private_key_is_never_saved(db):
    client = make_client("keyed")
    policy = ClientPolicy(application=client, token_endpoint_auth_method="private_key_jwt")
    policy.jwks = private_set(private_key("EC"))
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "jwks" in caught.value.message_dict
    assert policy.jwks == ""  # what was pasted is dropped, not kept for the next save
    policy.jwks = private_set(private_key("EC"))
    with pytest.raises(ValidationError):
        policy.save()
    assert not ClientPolicy.objects.filter(application=client).exists()


def test_a_saved_policy_keeps_public_members_only(db):
    client = make_client("keyed")
    member = json.loads(private_key("EC").export_public())
    policy = ClientPolicy(
        application=client,
        token_endpoint_auth_method="private_key_jwt",
        jwks=json.dumps({"keys": [member]}, indent=4),
    )
    policy.full_clean()
    policy.save()
    stored = json.loads(ClientPolicy.objects.get(application=client).jwks)
    assert stored == {"keys": [member]}


def test_private_key_jwt_needs_keys_and_one_source_of_them(db):
    client = make_client("keyed")
    policy = ClientPolicy(application=client, token_endpoint_auth_method="private_key_jwt")
    with pytest.raises(ValidationError, match="public keys"):
        policy.full_clean()
    policy.jwks = public_set(private_key("EC"))
    policy.jwks_uri = "https://rp.example/jwks.json"
    with pytest.raises(ValidationError, match="not both"):
        policy.full_clean()


def test_jwks_uri_must_be_https_unless_development_allows_http(db, settings):
    client = make_client("keyed")
    policy = ClientPolicy(
        application=client, token_endpoint_auth_method="private_key_jwt", jwks_uri="http://rp.example/jwks"
    )
    with pytest.raises(ValidationError, match="https"):
        policy.full_clean()
    settings.OAUTH2_PAR = {"JWKS_URI_ALLOW_HTTP": True}
    policy.full_clean()


def test_http_is_never_fetched_without_the_development_setting(key_server):
    key_server.serve(public_set(private_key("EC")))
    with pytest.raises(KeySetUnavailableError, match="https"):
        ClientKeys(jwks_uri=key_server.url).keys("k1")
    assert key_server.behaviour.hits == 0


def test_fetched_keys_are_cached_and_refetched_once_for_an_unknown_kid(settings, key_server):
    settings.OAUTH2_PAR = HTTP_ALLOWED["OAUTH2_PAR"]
    first = private_key("EC", "k1")
    served = key_server.serve(public_set(first))
    source = ClientKeys(jwks_uri=key_server.url)
    assert source.keys("k1").get_key("k1") is not None
    assert source.keys("k1") is not None
    assert source.keys(None) is not None
    assert served.hits == 1

    rotated = private_key("EC", "k2")
    served = key_server.serve(public_set(first, rotated))
    assert source.keys("k2").get_key("k2") is not None  # the client rotated: one re-fetch finds it
    assert served.hits == 1
    source.keys("unknown-1")
    source.keys("unknown-2")
    assert served.hits == 1  # no more fetches this interval, whatever kid is named


def test_a_slow_key_server_is_cut_off(settings, key_server):
    settings.OAUTH2_PAR = {**HTTP_ALLOWED["OAUTH2_PAR"], "JWKS_FETCH_TIMEOUT": 1}
    key_server.serve(public_set(private_key("EC")), delay=3)
    with pytest.raises(KeySetUnavailableError, match="in time"):
        keys.fetch_jwk_set(key_server.url)


def test_a_huge_key_set_is_not_read_past_the_limit(settings, key_server):
    settings.OAUTH2_PAR = {**HTTP_ALLOWED["OAUTH2_PAR"], "JWKS_MAX_BYTES": 4096}
    key_server.serve(b'{"keys": [' + b" " * 1_000_000 + b"]}")
    with pytest.raises(KeySetUnavailableError, match="more than 4096 bytes"):
        keys.fetch_jwk_set(key_server.url)


def test_a_key_server_that_is_down_or_wrong_is_refused(settings, key_server):
    settings.OAUTH2_PAR = HTTP_ALLOWED["OAUTH2_PAR"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(KeySetUnavailableError):
        keys.fetch_jwk_set(f"http://127.0.0.1:{closed_port}/jwks.json")
    key_server.serve("{}", status=500)
    with pytest.raises(KeySetUnavailableError, match="status 500"):
        keys.fetch_jwk_set(key_server.url)
    key_server.serve("", status=302, headers={"Location": "http://127.0.0.1:1/elsewhere"})
    with pytest.raises(KeySetUnavailableError, match="status 302"):
        keys.fetch_jwk_set(key_server.url)
    key_server.serve(private_set(private_key("EC")))
    with pytest.raises(KeySetUnavailableError, match="private"):
        keys.fetch_jwk_set(key_server.url)


def test_a_down_key_server_is_not_asked_again_within_the_interval(settings, key_server):
    settings.OAUTH2_PAR = HTTP_ALLOWED["OAUTH2_PAR"]
    served = key_server.serve("{}", status=503)
    source = ClientKeys(jwks_uri=key_server.url)
    for _ in range(3):
        with pytest.raises(KeySetUnavailableError):
            source.keys("k1")
    assert served.hits == 1


def test_keys_are_never_fetched_inside_a_transaction(transactional_db, settings, key_server):
    settings.OAUTH2_PAR = HTTP_ALLOWED["OAUTH2_PAR"]
    served = key_server.serve(public_set(private_key("EC")))
    with transaction.atomic(), pytest.raises(KeySetUnavailableError, match="transaction"):
        keys.fetch_jwk_set(key_server.url)
    assert served.hits == 0
