"""Request objects (RFC 9101) turned into a push's parameters, attacked claim by claim."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from jwcrypto import jwk

from django_oauth_par.exceptions import ParError
from django_oauth_par.keys import ClientKeys
from django_oauth_par.request_objects import request_object_parameters

from .signing import ISSUER, TOKEN_ENDPOINT, private_key, public_set, request_object, sign, unsigned

CLIENT = "signing-client"
KEYS = ClientKeys(jwks=public_set(private_key("EC"), private_key("RSA")))
PARAMS = {"response_type": "code", "redirect_uri": "https://rp.example/callback", "scope": "read"}


def parameters(token: str, *beside: tuple[str, str]) -> list[tuple[str, str]]:
    pairs = [("client_id", CLIENT), ("request", token), *beside]
    return request_object_parameters(pairs, CLIENT, KEYS, [ISSUER])


def refused(token: str, match: str | None = None, *beside: tuple[str, str]) -> ParError:
    with pytest.raises(ParError, match=match) as caught:
        parameters(token, *beside)
    assert (caught.value.error, caught.value.status) == ("invalid_request_object", 400)
    return caught.value


def test_the_objects_claims_become_the_parameters():
    token = request_object(CLIENT, {**PARAMS, "client_id": CLIENT, "max_age": 60})
    assert sorted(parameters(token)) == sorted([("client_id", CLIENT), *PARAMS.items(), ("max_age", "60")])


def test_json_valued_claims_are_kept_as_json_text():
    details = [{"type": "payment_initiation", "amount": {"currency": "EUR", "value": "12.00"}}]
    claims = {"userinfo": {"email": {"essential": True}}}
    token = request_object(CLIENT, {**PARAMS, "authorization_details": details, "claims": claims})
    result = dict(parameters(token))
    assert json.loads(result["authorization_details"]) == details
    assert json.loads(result["claims"]) == claims


def test_resource_arrays_become_repeated_parameters():
    token = request_object(CLIENT, {**PARAMS, "resource": ["https://a.example/", "https://b.example/"]})
    assert [value for name, value in parameters(token) if name == "resource"] == [
        "https://a.example/",
        "https://b.example/",
    ]


@pytest.mark.parametrize("name", ["scope", "state", "redirect_uri", "request_uri", "response_type"])
def test_authorization_parameters_beside_the_object_are_refused(name):
    refused(request_object(CLIENT, PARAMS), "must be inside it", (name, "x"))


def test_client_authentication_may_sit_beside_the_object():
    parameters(request_object(CLIENT, PARAMS), ("client_secret", "s"))


def test_request_uri_or_request_inside_the_object_is_refused():
    refused(request_object(CLIENT, {**PARAMS, "request_uri": "urn:x"}), "request_uri")
    refused(request_object(CLIENT, {**PARAMS, "request": "a.b.c"}), "request_uri")


def test_iss_and_client_id_must_be_the_authenticated_client():
    refused(request_object(CLIENT, PARAMS, iss="other-client"), "iss")
    refused(request_object(CLIENT, {**PARAMS, "client_id": "other-client"}), "client_id")


def test_the_audience_must_be_the_issuer():
    refused(request_object(CLIENT, PARAMS, aud=TOKEN_ENDPOINT), "aud")
    refused(request_object(CLIENT, PARAMS, aud=None), "aud")
    parameters(request_object(CLIENT, PARAMS, aud=[ISSUER, "https://other.example"]))


def test_times_are_bounded():
    now = int(time.time())
    refused(request_object(CLIENT, PARAMS, exp=now - 1, nbf=now - 60, iat=now - 60), "expired")
    refused(request_object(CLIENT, PARAMS, exp=None), "exp")
    refused(request_object(CLIENT, PARAMS, nbf=now + 300), "not valid yet")
    refused(request_object(CLIENT, PARAMS, exp=now + 7200), "longer than")


def test_jti_is_required_and_single_use():
    refused(request_object(CLIENT, PARAMS, jti=None), "jti")
    token = request_object(CLIENT, PARAMS)
    parameters(token)
    refused(token, "used before")


def test_unsigned_foreign_and_wrongly_typed_objects_are_refused():
    now = int(time.time())
    claims: dict[str, Any] = {"iss": CLIENT, "aud": ISSUER, "exp": now + 60, "jti": "j", **PARAMS}
    refused(unsigned(claims), "alg")
    refused(
        request_object(CLIENT, PARAMS, key=jwk.JWK.generate(kty="EC", crv="P-256", kid="ec")), "signature"
    )
    refused(sign({**claims, "jti": "t"}, private_key("EC"), "ES256", typ="at+jwt"), "typ")
    refused("a.b.c.d.e", "encrypted")


def test_a_null_claim_is_refused():
    now = int(time.time())
    claims = {"iss": CLIENT, "aud": ISSUER, "exp": now + 60, "jti": "null-state", **PARAMS, "state": None}
    refused(sign(claims, private_key("EC"), "ES256"), "null")
