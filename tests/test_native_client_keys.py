"""With a DOT that keeps client keys itself, its fields are the one source of truth.

Run with DOT's development wheel installed (see the README's compatibility notes);
skipped on a DOT without client-key fields.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from django_oauth_par.models import ClientPolicy, PushedRequest
from django_oauth_par.registration import dot_has_client_keys, registration

from . import signing
from .helpers import auth_params, make_client, page_forms, push
from .signing import assertion, assertion_params, make_key_client, private_key, public_set, request_object

pytestmark = [
    pytest.mark.skipif(not dot_has_client_keys(), reason="this DOT has no client-key fields"),
    pytest.mark.urls("tests.native_urls"),
]


def key_push(http: Client, client_id: str, token: str, **params: Any) -> Any:
    body = {**auth_params(client_id=client_id), **params, **assertion_params(client_id, token)}
    return push(http, body, secret=None)


def test_the_registration_is_read_from_dots_fields(db):
    application = make_key_client("native-client", private_key("EC"))
    found = registration(application)
    assert found.method == "private_key_jwt"
    assert json.loads(found.keys.jwks) == json.loads(public_set(private_key("EC")))


def test_dot_authenticates_the_assertion_at_our_par_endpoint(client, db):
    make_key_client("native-client", private_key("EC"))
    token = assertion("native-client", aud=signing.PAR_ENDPOINT)
    response = key_push(client, "native-client", token)
    assert response.status_code == 201, response.content
    # DOT's own jti store refuses the replay.
    assert key_push(client, "native-client", token).status_code == 401


@pytest.mark.parametrize(
    "overrides",
    [
        {"key": private_key("EC", "unregistered")},
        {"aud": "https://elsewhere.example/"},
        {"iss": "other-client"},
        {"exp": 1},
        {"jti": None},
        {"lifetime": 3600},
    ],
    ids=["wrong-key", "aud", "iss", "expired", "no-jti", "too-long"],
)
def test_dot_refuses_bad_assertions_at_our_par_endpoint(client, db, overrides):
    """The attacks test_key_clients.py makes on this app's own verifier, made on DOT's."""
    make_key_client("native-client", private_key("EC"))
    claims = {"aud": signing.PAR_ENDPOINT, **overrides}
    response = key_push(client, "native-client", assertion("native-client", **claims))
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    assert not PushedRequest.objects.exists()


def test_a_secret_is_refused_from_a_key_client_at_the_push_and_at_dots_token_endpoint(client, db):
    from urllib.parse import urlencode

    from .helpers import SECRET, basic

    make_key_client("native-client", private_key("EC"))
    assert push(client, auth_params(client_id="native-client"), "native-client", SECRET).status_code == 401
    body = auth_params(client_id="native-client", client_secret=SECRET)
    assert push(client, body, secret=None).status_code == 401
    assert not PushedRequest.objects.exists()
    grant = urlencode({"grant_type": "client_credentials"})
    form = "application/x-www-form-urlencoded"
    answer = client.post(
        "/o/token/", grant, content_type=form, HTTP_AUTHORIZATION=basic("native-client", SECRET)
    )
    assert answer.status_code == 401


def test_keys_left_in_this_apps_fields_are_ignored(client, db):
    application = make_client("stale-client")
    ClientPolicy.objects.create(
        application=application,
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_set(private_key("EC")),
    )
    token = assertion("stale-client", aud=signing.PAR_ENDPOINT)
    assert key_push(client, "stale-client", token).status_code == 401
    assert not PushedRequest.objects.exists()


def test_request_objects_are_verified_with_dots_client_keys(client, db):
    make_key_client("native-client", private_key("EC"), require_signed_request_object=True)
    params = {
        "client_id": "native-client",
        "response_type": "code",
        "redirect_uri": "https://rp.example/callback",
        "scope": "read",
        "code_challenge": auth_params()["code_challenge"],
        "code_challenge_method": "S256",
    }
    token = request_object("native-client", params, private_key("EC"))
    body = {
        "client_id": "native-client",
        "request": token,
        **assertion_params("native-client", assertion("native-client", aud=signing.PAR_ENDPOINT)),
    }
    response = push(client, body, secret=None)
    assert response.status_code == 201, response.content
    plain = key_push(client, "native-client", assertion("native-client", aud=signing.PAR_ENDPOINT))
    assert plain.status_code == 400


def test_the_admin_points_at_dots_fields(db):
    from django.contrib.auth import get_user_model

    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    application = make_client("native-client")
    page = browser.get(f"/admin/oauth2_provider/application/{application.pk}/change/")
    assert page.status_code == 200
    names = [name for form in page_forms(page) for name in form["names"]]
    assert "pushed_authorization_policy-0-require_signed_request_object" in names
    assert "pushed_authorization_policy-0-jwks" not in names
    assert "client_jwks" in names
    assert "keeps client keys itself" in page.content.decode()


def test_the_mixin_steps_aside_and_metadata_still_announces_the_method(client, db):
    document = client.get("/o/.well-known/openid-configuration").json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
