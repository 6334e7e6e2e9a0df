"""private_key_jwt assertions, attacked one claim at a time (RFC 7523 §3, RFC 9126 §2)."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest
from jwcrypto import jwk, jws

from django_oauth_par.assertions import ASSERTION_TYPE, verify_client_assertion
from django_oauth_par.exceptions import ParError
from django_oauth_par.keys import ClientKeys

from .signing import (
    ISSUER,
    PAR_ENDPOINT,
    TOKEN_ENDPOINT,
    assertion,
    assertion_claims,
    b64,
    private_key,
    public_set,
    sign,
    unsigned,
)

CLIENT = "keyed-client"
AUDIENCES = [ISSUER, TOKEN_ENDPOINT, PAR_ENDPOINT]


def keys_of(*kinds: str) -> ClientKeys:
    return ClientKeys(jwks=public_set(*(private_key(kind) for kind in kinds)))


def verify(token: str, keys: ClientKeys | None = None, assertion_type: str = ASSERTION_TYPE) -> None:
    verify_client_assertion(assertion_type, token, CLIENT, keys or keys_of("EC", "RSA", "OKP"), AUDIENCES)


def refused(token: str, match: str | None = None, **kwargs: Any) -> ParError:
    with pytest.raises(ParError, match=match) as caught:
        verify(token, **kwargs)
    assert caught.value.error == "invalid_client"
    assert caught.value.status == 401
    return caught.value


@pytest.mark.parametrize(
    ("kind", "alg"), [("EC", "ES256"), ("RSA", "RS256"), ("RSA", "PS256"), ("OKP", "EdDSA")]
)
def test_each_allowed_algorithm_authenticates(kind, alg):
    verify(assertion(CLIENT, private_key(kind), alg))


@pytest.mark.parametrize(
    "aud", [ISSUER, TOKEN_ENDPOINT, PAR_ENDPOINT, ["https://elsewhere.example", PAR_ENDPOINT]]
)
def test_the_issuer_and_both_endpoint_urls_are_accepted_audiences(aud):
    verify(assertion(CLIENT, aud=aud))


@pytest.mark.parametrize(
    "aud", ["https://elsewhere.example", ["https://elsewhere.example"], [], None, 42, [ISSUER, 42]]
)
def test_a_wrong_audience_is_refused(aud):
    refused(assertion(CLIENT, aud=aud), "aud")


@pytest.mark.parametrize(
    ("iss", "sub"), [("other", CLIENT), (CLIENT, "other"), (None, CLIENT), (CLIENT, None)]
)
def test_iss_and_sub_must_both_be_the_client(iss, sub):
    refused(assertion(CLIENT, iss=iss, sub=sub), "iss and sub")


def test_the_assertion_type_must_be_jwt_bearer():
    refused(assertion(CLIENT), "client_assertion_type", assertion_type="urn:ietf:params:oauth:other")


def test_a_key_the_client_did_not_register_is_refused():
    stranger = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec")
    refused(assertion(CLIENT, stranger), "signature")


def test_an_unknown_kid_is_refused():
    refused(sign(assertion_claims(CLIENT, aud=ISSUER), private_key("EC"), "ES256", kid="nobody"), "kid")


def test_alg_none_is_refused():
    refused(unsigned(assertion_claims(CLIENT)), "alg")
    refused(unsigned(assertion_claims(CLIENT)) + "c2ln", "alg")


def test_hs256_keyed_with_the_public_key_is_refused():
    """The classic confusion attack: an HMAC keyed with the bytes of the registered public key."""
    public = private_key("RSA").export_public().encode()
    for secret in (public, private_key("RSA").export_to_pem()):
        hmac_key = jwk.JWK(kty="oct", k=b64(secret))
        token = jws.JWS(json.dumps(assertion_claims(CLIENT)).encode())
        token.add_signature(hmac_key, alg="HS256", protected=json.dumps({"alg": "HS256", "kid": "rsa"}))
        refused(token.serialize(compact=True), "alg 'HS256'")


def test_an_algorithm_outside_the_allow_list_is_refused(settings):
    settings.OAUTH2_PAR = {"SIGNING_ALGORITHMS": ["PS256"]}
    refused(assertion(CLIENT, private_key("RSA"), "RS256"), "alg 'RS256'")
    verify(assertion(CLIENT, private_key("RSA"), "PS256"))


def test_an_expired_assertion_is_refused():
    now = int(time.time())
    refused(assertion(CLIENT, iat=now - 120, exp=now - 1), "expired")


def test_an_assertion_without_exp_is_refused():
    refused(assertion(CLIENT, exp=None), "exp")


@pytest.mark.parametrize("value", ["soon", True, 1e300, -5, [1]])
def test_malformed_times_are_refused(value):
    refused(assertion(CLIENT, exp=value))


def test_an_assertion_valid_for_too_long_is_refused(settings):
    refused(assertion(CLIENT, lifetime=3600), "longer than the 300 seconds")
    settings.OAUTH2_PAR = {"CLIENT_ASSERTION_MAX_LIFETIME": 4000}
    verify(assertion(CLIENT, lifetime=3600))


def test_leaving_out_iat_does_not_stretch_the_lifetime():
    refused(assertion(CLIENT, lifetime=3600, iat=None), "longer")


def test_nbf_and_iat_in_the_future_are_refused_beyond_the_skew():
    now = int(time.time())
    refused(assertion(CLIENT, nbf=now + 120), "not valid yet")
    refused(assertion(CLIENT, iat=now + 120, exp=now + 200), "issued in the future")
    verify(assertion(CLIENT, nbf=now + 10, iat=now + 10))  # within the default 30 s skew


def test_jti_is_required():
    refused(assertion(CLIENT, jti=None), "jti")
    refused(assertion(CLIENT, jti=""), "jti")
    refused(assertion(CLIENT, jti="x" * 1000), "jti")


def test_a_replayed_assertion_is_refused():
    token = assertion(CLIENT)
    verify(token)
    refused(token, "used before")


def test_the_same_jti_in_a_new_assertion_is_refused():
    verify(assertion(CLIENT, jti="once"))
    refused(assertion(CLIENT, jti="once"), "used before")


def test_racing_replays_let_exactly_one_through():
    token = assertion(CLIENT)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            verify(token)
        except ParError:
            results.append(False)
        else:
            results.append(True)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_a_tampered_payload_is_refused():
    header, payload, signature = assertion(CLIENT).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = claims["iss"] = "someone-else"
    refused(f"{header}.{b64(json.dumps(claims).encode())}.{signature}", "signature")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "....",
        "!!!.???.***",
        "e30.e30.",
        "bm90IGpzb24.e30.c2ln",
        f"{b64(b'[1]')}.e30.c2ln",
        '{"payload": "e30", "signatures": []}',
    ],
)
def test_malformed_tokens_are_refused(token):
    refused(token)


def test_an_oversized_assertion_is_refused():
    refused(assertion(CLIENT, padding="x" * 20000), "longer than")


def test_an_encrypted_assertion_is_refused():
    refused("a.b.c.d.e", "encrypted")


def test_critical_headers_and_nested_tokens_are_refused():
    _, payload, signature = assertion(CLIENT).split(".")
    header = b64(json.dumps({"alg": "ES256", "kid": "ec", "crit": ["urn:example:ext"]}).encode())
    refused(f"{header}.{payload}.{signature}", "critical")
    inner = assertion(CLIENT)
    nested = jws.JWS(inner.encode())
    nested.add_signature(
        private_key("EC"), alg=None, protected=json.dumps({"alg": "ES256", "kid": "ec", "cty": "JWT"})
    )
    refused(nested.serialize(compact=True), "nested")


def test_a_key_embedded_in_the_header_is_not_trusted():
    attacker = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec")
    token = sign(assertion_claims(CLIENT), attacker, "ES256", jwk=json.loads(attacker.export_public()))
    refused(token, "signature")


def test_a_client_without_keys_is_refused():
    refused(assertion(CLIENT), "keys", keys=ClientKeys())
