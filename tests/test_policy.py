"""Per-client PAR policy on the client's admin page: lifetime, authenticated pushes, and
unregistered redirect URIs by pattern (RFC 9126 §2.4), only for authenticated pushes and only
through PAR."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from oauth2_provider.models import get_grant_model

from django_oauth_par.models import ClientPolicy, PushedRequest

from .helpers import (
    AUTHORIZE_URL,
    assert_error_page,
    auth_params,
    authorize_url,
    basic,
    code_from,
    consent,
    exchange,
    form_post,
    push,
)

Grant = get_grant_model()
TENANT_URI = "https://acme.tenant.example.com/callback"
PATTERN = "https://*.tenant.example.com/callback"


def policy(application, **fields):
    row, _ = ClientPolicy.objects.update_or_create(application=application, defaults=fields)
    return row


def test_per_client_lifetime_is_what_expires_in_says(client, confidential, other_client):
    policy(confidential, request_uri_lifetime=45)
    response = push(client, auth_params())
    assert response.json()["expires_in"] == 45
    stored = PushedRequest.objects.get()
    assert stored.expires_at - stored.created_at == timedelta(seconds=45)
    other = push(client, auth_params(client_id="other-client"), client_id="other-client")
    assert other.json()["expires_in"] == 60  # the server's REQUEST_URI_LIFETIME


def test_lifetime_never_exceeds_the_server_maximum(client, confidential):
    policy(confidential, request_uri_lifetime=300)
    with override_settings(OAUTH2_PAR={"MAX_REQUEST_URI_LIFETIME": 120}):
        assert push(client, auth_params()).json()["expires_in"] == 120
    with override_settings(OAUTH2_PAR={"REQUEST_URI_LIFETIME": 900, "MAX_REQUEST_URI_LIFETIME": 600}):
        policy(confidential, request_uri_lifetime=None)
        assert push(client, auth_params()).json()["expires_in"] == 600


def test_require_authenticated_push_refuses_a_bare_client_id(client, public):
    body = auth_params(client_id="public-client")
    assert push(client, body, client_id="public-client", secret=None).status_code == 201
    policy(public, require_authenticated_push=True)
    response = push(client, body, client_id="public-client", secret=None)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert PushedRequest.objects.count() == 1


def test_require_authenticated_push_server_wide(client, public, confidential):
    with override_settings(OAUTH2_PAR={"REQUIRE_AUTHENTICATED_PUSH": True}):
        refused = push(client, auth_params(client_id="public-client"), client_id="public-client", secret=None)
        assert refused.status_code == 401
        assert push(client, auth_params()).status_code == 201  # a secret is authentication


def test_a_pattern_admits_an_unregistered_redirect_uri_end_to_end(client, signed_in, confidential):
    policy(confidential, redirect_uri_patterns=PATTERN)
    response = push(client, auth_params(redirect_uri=TENANT_URI, state="tenant"))
    assert response.status_code == 201, response.content
    uri = response.json()["request_uri"]
    params = code_from(consent(signed_in, authorize_url(uri)), redirect_uri=TENANT_URI)
    assert params["state"] == "tenant"
    token = form_post(
        client,
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": TENANT_URI,
            "code_verifier": "v" * 64,
        },
        HTTP_AUTHORIZATION=basic("conf-client", "s3cret-of-the-confidential-client"),
    )
    assert token.status_code == 200, token.content


def test_a_pattern_is_not_honoured_for_an_unauthenticated_push(client, public):
    policy(public, redirect_uri_patterns=PATTERN)
    body = auth_params(client_id="public-client", redirect_uri=TENANT_URI)
    response = push(client, body, client_id="public-client", secret=None)
    assert response.status_code == 400
    assert not PushedRequest.objects.exists()


def test_a_pattern_is_never_honoured_in_a_classic_request(signed_in, confidential):
    policy(confidential, redirect_uri_patterns=PATTERN)
    url = AUTHORIZE_URL + "?" + urlencode(auth_params(redirect_uri=TENANT_URI))
    assert_error_page(signed_in.get(url))
    assert not Grant.objects.exists()


@pytest.mark.parametrize(
    "uri",
    [
        "https://a.b.tenant.example.com/callback",
        "https://acme.tenant.example.com.evil.example/callback",
        "https://acme.tenant.example.com@evil.example/callback",
        "http://acme.tenant.example.com/callback",
        "https://acme.tenant.example.com/callback?x=1",
    ],
)
def test_uris_outside_the_pattern_are_refused_at_push(client, confidential, uri):
    policy(confidential, redirect_uri_patterns=PATTERN)
    response = push(client, auth_params(redirect_uri=uri))
    assert response.status_code == 400, response.content
    assert not PushedRequest.objects.exists()


def test_a_pattern_removed_after_the_push_takes_effect_at_once(client, signed_in, confidential):
    row = policy(confidential, redirect_uri_patterns=PATTERN)
    uri = push(client, auth_params(redirect_uri=TENANT_URI)).json()["request_uri"]
    row.redirect_uri_patterns = ""
    row.save()
    response = signed_in.get(authorize_url(uri))
    assert_error_page(response)  # never a redirect to the URI that is no longer allowed
    assert not Grant.objects.exists()


def test_the_admin_validates_patterns_and_lifetime(client, confidential):
    from django.core.exceptions import ValidationError

    row = policy(confidential)
    row.redirect_uri_patterns = "https://*.com/callback"
    row.request_uri_lifetime = 10_000
    with pytest.raises(ValidationError) as raised:
        row.full_clean()
    assert set(raised.value.message_dict) == {"redirect_uri_patterns", "request_uri_lifetime"}


def test_the_query_budget_of_a_push_counts_the_policy(
    client, confidential, django_assert_num_queries, settings
):
    # The client with its policy (one query), insert. (The audit chain's own writes are counted in
    # test_query_budget.)
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUDIT_TRAIL": False}
    with django_assert_num_queries(2):
        assert push(client, auth_params()).status_code == 201


def test_exchange_helper_still_works_for_registered_uris(client, signed_in, confidential):
    uri = push(client, auth_params()).json()["request_uri"]
    params = code_from(consent(signed_in, authorize_url(uri)))
    assert exchange(client, params["code"]).status_code == 200
