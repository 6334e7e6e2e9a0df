"""PROFILE = "fapi2": the FAPI 2.0 Security Profile switched on in one place, each rule on and off.

Pushes authenticated with private_key_jwt are what the profile admits (the whole flow with
openid-client is in tests/e2e/test_node_client.py); the rules on pushed parameters are also
exercised directly through enforce_request, the function push validation calls.
"""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings

from django_oauth_par.exceptions import ParError
from django_oauth_par.models import ClientPolicy, PushedRequest
from django_oauth_par.policy import enforce_request, policy_of

from .helpers import CHALLENGE, assert_error_page, auth_params, classic_url, push

FAPI2 = {"PROFILE": "fapi2"}
METADATA = ["/.well-known/oauth-authorization-server/o", "/o/.well-known/openid-configuration"]
COMPLIANT_DOT = {
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "OAUTH2_VALIDATOR_CLASS": "example_project.demo.oauth.Validator",
}


def test_par_is_required_for_every_client(signed_in, confidential, client):
    assert signed_in.get(classic_url()).status_code == 200
    with override_settings(OAUTH2_PAR=FAPI2):
        assert_error_page(signed_in.get(classic_url()), "invalid_request")
        for url in METADATA:
            document = client.get(url).json()
            assert document["require_pushed_authorization_requests"] is True
            assert document["authorization_response_iss_parameter_supported"] is True


@pytest.mark.parametrize("how", ["basic", "post"])
def test_secrets_are_refused(client, confidential, how):
    body = auth_params()
    if how == "post":
        body["client_secret"] = "s3cret-of-the-confidential-client"
    with override_settings(OAUTH2_PAR=FAPI2):
        response = push(client, body, secret="s3cret-of-the-confidential-client" if how == "basic" else None)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "private_key_jwt" in response.json()["error_description"]
    assert not PushedRequest.objects.exists()
    assert push(client, auth_params()).status_code == 201  # the profile off: secrets are fine


def test_public_clients_are_refused(client, public):
    body = auth_params(client_id="public-client")
    with override_settings(OAUTH2_PAR=FAPI2):
        assert push(client, body, client_id="public-client", secret=None).status_code == 401
    assert push(client, body, client_id="public-client", secret=None).status_code == 201


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"redirect_uri": None}, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
    ],
)
def test_pushed_parameters_the_profile_rules_out(confidential, change, error):
    params = auth_params(**change)
    assert enforce_request(policy_of(confidential), params) is None  # the profile off
    with override_settings(OAUTH2_PAR=FAPI2), pytest.raises(ParError) as raised:
        enforce_request(policy_of(confidential), params)
    assert raised.value.error == error


def test_a_compliant_request_passes(confidential):
    with override_settings(OAUTH2_PAR=FAPI2):
        enforce_request(policy_of(confidential), auth_params(code_challenge=CHALLENGE))


def test_request_uri_lifetime_stays_under_600_seconds(confidential):
    ClientPolicy.objects.create(application=confidential, request_uri_lifetime=900)
    with override_settings(OAUTH2_PAR={**FAPI2, "MAX_REQUEST_URI_LIFETIME": 1000}):
        assert policy_of(confidential).request_uri_lifetime == 599
    with override_settings(OAUTH2_PAR={"MAX_REQUEST_URI_LIFETIME": 1000}):
        assert policy_of(confidential).request_uri_lifetime == 900


def profile_errors(**dot: object) -> list[str]:
    with override_settings(OAUTH2_PROVIDER={**COMPLIANT_DOT, **dot}):
        return [m.msg for m in checks.run_checks() if m.id == "oauth_par.E101"]


def test_a_compliant_configuration_passes_the_checks():
    with override_settings(OAUTH2_PAR=FAPI2):
        assert profile_errors() == []
    assert profile_errors(AUTHORIZATION_CODE_EXPIRE_SECONDS=600) == []  # the profile off


@pytest.mark.parametrize(
    ("dot", "named"),
    [
        ({"AUTHORIZATION_CODE_EXPIRE_SECONDS": 61}, "AUTHORIZATION_CODE_EXPIRE_SECONDS"),
        ({"PKCE_REQUIRED": False}, "PKCE_REQUIRED"),
        ({"COMPLIANT_BCP_RFC9700_PKCE_METHOD": False}, "COMPLIANT_BCP_RFC9700_PKCE_METHOD"),
        ({"ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"]}, "ALLOWED_REDIRECT_URI_SCHEMES"),
        (
            {"OAUTH2_VALIDATOR_CLASS": "oauth2_provider.oauth2_validators.OAuth2Validator"},
            "PrivateKeyJWTMixin",
        ),
    ],
)
def test_each_contradicting_dot_setting_is_named(dot, named):
    with override_settings(OAUTH2_PAR=FAPI2):
        errors = profile_errors(**dot)
    assert len(errors) == 1 and named in errors[0]


@pytest.mark.parametrize(
    ("par", "named"),
    [
        ({"REQUEST_URI_LIFETIME": 600}, "REQUEST_URI_LIFETIME"),
        ({"AUTHORIZATION_RESPONSE_ISS": False}, "AUTHORIZATION_RESPONSE_ISS"),
    ],
)
def test_each_contradicting_par_setting_is_named(par, named):
    with override_settings(OAUTH2_PAR={**FAPI2, "MAX_REQUEST_URI_LIFETIME": 900, **par}):
        errors = profile_errors()
    assert len(errors) == 1 and named in errors[0]


def test_clients_with_implicit_or_password_grants_are_named(db):
    from oauth2_provider.models import get_application_model

    application = get_application_model()
    application.objects.create(
        client_id="old-implicit",
        client_type="public",
        authorization_grant_type=application.GRANT_IMPLICIT,
        redirect_uris="https://rp.example/cb",
    )
    with override_settings(OAUTH2_PAR=FAPI2):
        found = [m for m in checks.run_checks(databases=["default"]) if m.id == "oauth_par.E102"]
        assert len(found) == 1 and "old-implicit" in found[0].msg
        assert not [m for m in checks.run_checks() if m.id == "oauth_par.E102"]  # needs --database
    assert not [m for m in checks.run_checks(databases=["default"]) if m.id == "oauth_par.E102"]


def test_the_admin_offers_no_lifetime_the_profile_would_cut(confidential):
    from django.core.exceptions import ValidationError

    row = ClientPolicy(application=confidential, request_uri_lifetime=600)
    row.full_clean()
    with override_settings(OAUTH2_PAR=FAPI2), pytest.raises(ValidationError):
        row.full_clean()


def test_dot_endpoints_accept_keys_only_under_the_profile(client, confidential, public, db):
    """The profile holds at DOT's token endpoint as at the push: a secret client is refused there
    too, and the metadata lists private_key_jwt alone."""
    from .helpers import SECRET, basic

    data = "grant_type=client_credentials"
    form = "application/x-www-form-urlencoded"
    before = client.post(
        "/o/token/", data, content_type=form, HTTP_AUTHORIZATION=basic("conf-client", SECRET)
    )
    assert before.json().get("error") != "invalid_client"  # DOT's own answer about the grant type
    with override_settings(OAUTH2_PAR=FAPI2):
        during = client.post(
            "/o/token/", data, content_type=form, HTTP_AUTHORIZATION=basic("conf-client", SECRET)
        )
        assert during.status_code == 401 and during.json()["error"] == "invalid_client"
        public_token = client.post("/o/token/", data + "&client_id=public-client", content_type=form)
        assert public_token.status_code == 401
        for url in METADATA:
            document = client.get(url).json()
            assert document["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    for url in METADATA:
        assert "client_secret_basic" in client.get(url).json()["token_endpoint_auth_methods_supported"]
