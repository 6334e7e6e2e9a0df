"""Signed request objects pushed over HTTP (RFC 9126 §3, RFC 9101), attacked and completed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from django_oauth_par.models import ClientPolicy, PushedRequest

from . import signing
from .helpers import (
    CHALLENGE,
    REDIRECT_URI,
    VERIFIER,
    auth_params,
    authorize_url,
    code_from,
    consent,
    exchange,
    push,
)
from .signing import assertion, assertion_params, make_key_client, private_key, register_keys, request_object

FORM = "application/x-www-form-urlencoded"


def object_params(client_id: str = "conf-client", **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "read",
        "state": "signed-state",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


@pytest.fixture
def signer(confidential: Any) -> Any:
    """The confidential client, authenticating with its secret and signing with its key."""
    return register_keys(confidential, private_key("RSA"), private_key("EC"), method="")


def signed_push(http: Client, token: str, client_id: str = "conf-client", **beside: str) -> Any:
    return push(http, {"client_id": client_id, "request": token, **beside})


def stored_pairs() -> list[tuple[str, str]]:
    (row,) = PushedRequest.objects.all()
    return row.parameter_pairs


def assert_refused(response: Any, error: str = "invalid_request_object", match: str = "") -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"] == error, response.json()
    assert match in response.json()["error_description"]
    assert not PushedRequest.objects.exists()


def test_a_signed_push_is_stored_as_the_objects_parameters(client, signer):
    token = request_object("conf-client", object_params(), private_key("RSA"), "PS256")
    response = signed_push(client, token)
    assert response.status_code == 201, response.content
    assert sorted(stored_pairs()) == sorted(object_params().items())


def test_a_signed_push_completes_the_flow(client, signer, user):
    token = request_object("conf-client", object_params(), private_key("EC"), "ES256")
    request_uri = signed_push(client, token).json()["request_uri"]
    browser = Client()
    browser.force_login(user)
    redirect = code_from(consent(browser, authorize_url(request_uri)))
    assert redirect["state"] == "signed-state"
    assert exchange(client, redirect["code"]).status_code == 200


def test_json_valued_claims_are_stored_as_json_text(client, signer):
    claims = {"id_token": {"email": {"essential": True}}}
    token = request_object("conf-client", object_params(claims=claims))
    assert signed_push(client, token).status_code == 201
    assert json.loads(dict(stored_pairs())["claims"]) == claims


@pytest.mark.parametrize("name", ["scope", "state", "redirect_uri", "code_challenge", "nonce"])
def test_an_authorization_parameter_beside_the_object_is_refused(client, signer, name):
    token = request_object("conf-client", object_params())
    assert_refused(signed_push(client, token, **{name: "beside"}), match=name)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"scope": "read admin"}, "invalid_scope"),
        ({"response_type": "token id_token"}, "unsupported_response_type"),
        ({"code_challenge": None}, "invalid_request"),
        ({"prompt": "sometimes"}, "invalid_request"),
        ({"resource": "not-a-uri"}, "invalid_target"),
        ({"state": "nul\x00byte"}, "invalid_request"),
    ],
)
def test_the_objects_parameters_meet_the_same_validation_as_a_plain_push(client, signer, overrides, error):
    plain = push(client, auth_params(**{k: v for k, v in overrides.items() if v is not None}))
    if "code_challenge" not in overrides and "\x00" not in str(overrides):
        assert plain.json()["error"] == error  # the same refusal without a request object
    PushedRequest.objects.all().delete()
    token = request_object("conf-client", object_params(**overrides))
    assert_refused(signed_push(client, token), error)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"iss": "other-client"}, "iss"),
        ({"aud": signing.TOKEN_ENDPOINT}, "aud"),
        ({"exp": None}, "exp"),
        ({"exp": 10**10}, "longer"),
        ({"nbf": 10**10}, "not valid yet"),
        ({"jti": None}, "jti"),
    ],
)
def test_bad_objects_are_invalid_request_object(client, signer, overrides, match):
    token = request_object("conf-client", object_params(), **overrides)
    assert_refused(signed_push(client, token), match=match)


def test_the_client_id_inside_must_be_the_authenticated_client(client, signer, other_client):
    token = request_object("conf-client", object_params(client_id="other-client"))
    assert_refused(signed_push(client, token), match="client_id")


def test_an_object_signed_by_another_clients_key_is_refused(client, signer, other_client):
    register_keys(other_client, private_key("EC", "other"), method="")
    token = request_object("conf-client", object_params(), private_key("EC", "other"))
    assert_refused(signed_push(client, token), match="kid")


def test_unsigned_nested_and_malformed_objects_are_refused(client, signer):
    claims = {"iss": "conf-client", "aud": signing.ISSUER, "exp": 2**31, "jti": "x", **object_params()}
    assert_refused(signed_push(client, signing.unsigned(claims)), match="alg")
    assert_refused(signed_push(client, "a.b.c.d.e"), match="encrypted")
    assert_refused(signed_push(client, "not-a-jwt"))
    assert_refused(
        signed_push(client, request_object("conf-client", {**object_params(), "request_uri": "urn:x"}))
    )


def test_a_replayed_object_is_refused(client, signer):
    token = request_object("conf-client", object_params())
    assert signed_push(client, token).status_code == 201
    PushedRequest.objects.all().delete()
    assert_refused(signed_push(client, token), match="used before")


def test_a_client_without_keys_cannot_sign(client, confidential):
    assert_refused(signed_push(client, request_object("conf-client", object_params())), match="keys")


def test_an_oversized_object_is_refused_before_any_work(client, signer):
    token = request_object("conf-client", object_params(padding="x" * 70_000))
    response = signed_push(client, token)
    assert response.status_code == 413
    assert not PushedRequest.objects.exists()


# --- clients that must sign ----------------------------------------------------------------------


def test_a_client_that_must_sign_cannot_push_plainly(client, signer):
    ClientPolicy.objects.filter(application=signer).update(require_signed_request_object=True)
    assert_refused(push(client, auth_params()), "invalid_request", "signed request object")
    token = request_object("conf-client", object_params())
    assert signed_push(client, token).status_code == 201


def test_the_server_wide_switch_is_a_floor(client, signer, settings):
    settings.OAUTH2_PAR = {"REQUIRE_SIGNED_REQUEST_OBJECT": True}
    assert_refused(push(client, auth_params()), "invalid_request", "signed request object")
    assert signed_push(client, request_object("conf-client", object_params())).status_code == 201


# --- the FAPI-style client: private_key_jwt and a signed object, through to the token ----------


@pytest.mark.parametrize("profile", [None, "fapi2"])
def test_private_key_jwt_with_a_ps256_object_through_dot(client, db, user, settings, profile):
    settings.OAUTH2_PAR = {"PROFILE": profile}
    make_key_client("fapi-client", private_key("EC"), private_key("RSA"), require_signed_request_object=True)
    token = request_object("fapi-client", object_params("fapi-client"), private_key("RSA"), "PS256")
    body = {
        "client_id": "fapi-client",
        "request": token,
        **assertion_params("fapi-client", assertion("fapi-client", private_key("EC"), "ES256")),
    }
    response = push(client, body, secret=None)
    assert response.status_code == 201, response.content
    browser = Client()
    browser.force_login(user)
    code = code_from(consent(browser, authorize_url(response.json()["request_uri"], "fapi-client")))["code"]
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        **assertion_params("fapi-client", assertion("fapi-client", aud=signing.TOKEN_ENDPOINT)),
    }
    from urllib.parse import urlencode

    tokens = client.post("/o/token/", urlencode(grant), content_type=FORM)
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["scope"] == "read"


def test_the_fapi2_profile_judges_the_objects_parameters(client, db, settings):
    settings.OAUTH2_PAR = {"PROFILE": "fapi2"}
    make_key_client("fapi-client")
    params = object_params("fapi-client", code_challenge_method=None, code_challenge=None)
    body = {
        "client_id": "fapi-client",
        "request": request_object("fapi-client", params),
        **assertion_params("fapi-client", assertion("fapi-client")),
    }
    assert_refused(push(client, body, secret=None), "invalid_request", "S256")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REQUIRE_SIGNED_REQUEST_OBJECT", "false"),
        ("SIGNING_ALGORITHMS", ["none"]),
        ("SIGNING_ALGORITHMS", ["HS256"]),
        ("SIGNING_ALGORITHMS", ["RS256", "HS512"]),
        ("SIGNING_ALGORITHMS", []),
        ("SIGNING_ALGORITHMS", "RS256"),
        ("CLOCK_SKEW", 3600),
    ],
)
def test_an_invalid_key_setting_is_refused_never_read_as_a_default(settings, name, value):
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured

    from django_oauth_par.conf import par_settings

    settings.OAUTH2_PAR = {name: value}
    assert "oauth_par.E004" in [message.id for message in checks.run_checks()]
    with pytest.raises(ImproperlyConfigured, match=name):
        getattr(par_settings, name)
