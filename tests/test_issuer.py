"""RFC 9207: every authorization response names its issuer, success or error, in the query or
the fragment, and the metadata says so."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import override_settings

from django_oauth_par.issuer import with_issuer

from .helpers import (
    AUTHORIZE_URL,
    auth_params,
    authorize_url,
    code_from,
    consent,
    consent_fields,
    make_client,
    push,
    pushed_uri,
)

ISSUER = "http://testserver/o"
METADATA = ["/.well-known/oauth-authorization-server/o", "/o/.well-known/openid-configuration"]


def issuers(response) -> list[str]:
    location = urlparse(response["Location"])
    return parse_qs(location.query).get("iss", []) + parse_qs(location.fragment).get("iss", [])


def test_success_carries_iss_matching_the_metadata(client, signed_in, confidential):
    response = consent(signed_in, authorize_url(pushed_uri(client)))
    assert "code" in code_from(response)
    assert issuers(response) == [ISSUER]
    for url in METADATA:
        document = client.get(url).json()
        assert document["issuer"] == ISSUER
        assert document["authorization_response_iss_parameter_supported"] is True


def test_access_denied_carries_iss(client, signed_in, confidential):
    response = consent(signed_in, authorize_url(pushed_uri(client)), allow=False)
    assert code_from(response)["error"] == "access_denied"
    assert issuers(response) == [ISSUER]


@pytest.mark.parametrize("scope", ["read", "openid read"])
def test_login_required_and_consent_required_carry_iss(client, browser, user, confidential, scope):
    anonymous = browser.get(authorize_url(pushed_uri(client, prompt="none", scope=scope)))
    assert code_from(anonymous)["error"] == "login_required"
    assert issuers(anonymous) == [ISSUER]
    browser.force_login(user)
    signed_in = browser.get(authorize_url(pushed_uri(client, prompt="none", scope=scope)))
    assert code_from(signed_in)["error"] == "consent_required"
    assert issuers(signed_in) == [ISSUER]


def test_an_error_redirect_after_consent_carries_iss(client, signed_in, confidential):
    uri = pushed_uri(client, scope="read write")
    fields = consent_fields(signed_in.get(authorize_url(uri)))
    with override_settings(OAUTH2_PROVIDER={"SCOPES": {"read": "Reading"}, "PKCE_REQUIRED": True}):
        response = signed_in.post(authorize_url(uri), {**fields, "allow": "Authorize"})
    assert code_from(response)["error"] == "invalid_scope"
    assert issuers(response) == [ISSUER]


def test_fragment_responses_carry_iss_in_the_fragment(client, signed_in, confidential):
    response = consent(signed_in, authorize_url(pushed_uri(client, response_mode="fragment")))
    location = urlparse(response["Location"])
    assert "code" in parse_qs(location.fragment)
    assert parse_qs(location.fragment)["iss"] == [ISSUER]
    assert "iss" not in parse_qs(location.query)


def test_classic_responses_carry_iss_too(signed_in, confidential):
    # The metadata says every authorization response carries iss, so classic ones do as well.
    response = consent(signed_in, AUTHORIZE_URL + "?" + urlencode(auth_params()))
    assert issuers(response) == [ISSUER]


def test_a_registered_redirect_uri_carrying_iss_gets_exactly_one(client, signed_in, db):
    registered = "https://rp.example/callback?iss=https%3A%2F%2Fevil.example"
    make_client("iss-client", redirect_uris=registered)
    body = auth_params(client_id="iss-client", redirect_uri=registered)
    uri = push(client, body, client_id="iss-client").json()["request_uri"]
    response = consent(signed_in, authorize_url(uri, client_id="iss-client"))
    assert issuers(response) == [ISSUER]


def test_the_setting_turns_it_off(client, signed_in, confidential):
    with override_settings(OAUTH2_PAR={"AUTHORIZATION_RESPONSE_ISS": False}):
        response = consent(signed_in, authorize_url(pushed_uri(client)))
        assert issuers(response) == []
        for url in METADATA:
            assert "authorization_response_iss_parameter_supported" not in client.get(url).json()


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://rp/cb?code=1", "https://rp/cb?code=1&iss=I"),
        ("https://rp/cb?iss=x&code=1", "https://rp/cb?code=1&iss=I"),
        ("https://rp/cb#code=1&iss=x", "https://rp/cb#code=1&iss=I"),
        ("https://rp/cb?iss=x#code=1", "https://rp/cb#code=1&iss=I"),
    ],
)
def test_with_issuer(location, expected):
    assert with_issuer(location, "I") == expected
