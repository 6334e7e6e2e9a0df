"""An OAuth client we did not write, openid-client (Node), against a live server.

tests/e2e/node/par_client.mjs discovers the endpoints, pushes with
``buildAuthorizationUrlWithPAR``, logs in and consents through its own fetch loop, and
exchanges the code with ``authorizationCodeGrant`` (PKCE, state, and for OpenID Connect the
ID token's signature, issuer, audience and nonce). It prints what happened as JSON.
"""

from __future__ import annotations

import pytest
from jwcrypto import jwk

from .conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    REQUEST_URI_PREFIX,
    encodings,
    key_client,
    query_of,
)


@pytest.mark.parametrize("discovery", ["oidc", "oauth2"])
def test_openid_client_par_login(site, node_client, discovery):
    result = node_client.login(site, CLIENT_ID, secret=CLIENT_SECRET, discovery=discovery)

    # One issuer whichever document was read; openid-client has checked the callback's iss against it.
    assert result["issuer"] == f"{site}/o"
    assert query_of(result["callback"])["iss"] == [f"{site}/o"]
    assert result["pushed_authorization_request_endpoint"] == f"{site}/o/par/"
    assert result["require_pushed_authorization_requests"] is False

    authorization_url = result["authorization_url"]
    assert authorization_url.startswith(f"{site}/o/authorize/?")
    query = query_of(authorization_url)
    assert set(query) == {"client_id", "request_uri"}
    assert query["client_id"] == [CLIENT_ID]
    assert query["request_uri"][0].startswith(REQUEST_URI_PREFIX)

    # Nothing pushed in any URL "the browser" visited before the callback.
    pushed = [value for value in result["pushed"].values() if value]
    assert len(pushed) == (3 if discovery == "oidc" else 2)
    for value in pushed:
        assert not [url for url in result["visited"] for form in encodings(value) if form in url]
    assert query_of(result["callback"])["state"] == [result["pushed"]["state"]]

    tokens = result["token_response"]
    assert tokens["access_token"]
    assert tokens["token_type"].lower() == "bearer"
    if discovery == "oidc":
        assert set(tokens["scope"].split()) == {"openid", "read"}
        claims = result["id_token_claims"]
        assert claims["nonce"] == result["pushed"]["nonce"]
        assert claims["iss"] == f"{site}/o"
        assert claims["aud"] in (CLIENT_ID, [CLIENT_ID])
        assert claims["sub"]
    else:
        assert tokens["scope"] == "read"
        assert "id_token" not in tokens
        assert result["id_token_claims"] is None


@pytest.mark.parametrize("discovery", ["oidc", "oauth2"])
@pytest.mark.parametrize("kind", ["EC", "RSA"])
def test_openid_client_private_key_jwt_and_a_signed_request_object(
    site, node_client, discovery, kind, tmp_path
):
    """openid-client signs its assertions (ES256 or PS256) and its request object, then pushes both.

    The client must sign (require_signed_request_object), so the push only succeeds with the
    request object; the token endpoint accepts only the key.
    """
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="e2e-ec") if kind == "EC" else None
    key = key or jwk.JWK.generate(kty="RSA", size=2048, kid="e2e-rsa")
    key_client(site, "demo-keyed", key, require_signed_request_object=True)
    key_file = tmp_path / "client.jwk"
    key_file.write_text(key.export_private())
    result = node_client.login(
        site, "demo-keyed", private_key=key_file, sign_request=True, discovery=discovery
    )
    assert "private_key_jwt" in result["token_endpoint_auth_methods_supported"]
    assert {"ES256", "PS256"} <= set(result["request_object_signing_alg_values_supported"])
    query = query_of(result["authorization_url"])
    assert set(query) == {"client_id", "request_uri"}
    assert query_of(result["callback"])["state"] == [result["pushed"]["state"]]
    assert result["token_response"]["access_token"]
    if discovery == "oidc":
        assert result["id_token_claims"]["nonce"] == result["pushed"]["nonce"]


def test_openid_client_as_a_fapi2_client_against_the_fapi2_profile(site, node_client, tmp_path, settings):
    """PROFILE = "fapi2" as a whole: openid-client pushes with private_key_jwt and PKCE S256 through
    OpenID Connect discovery, and checks iss in the authorization response (the metadata announces
    it); the same client with a secret is refused."""
    settings.OAUTH2_PAR = {**getattr(settings, "OAUTH2_PAR", {}), "PROFILE": "fapi2"}
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="fapi2-ec")
    key_client(site, "demo-fapi2", key)
    key_file = tmp_path / "client.jwk"
    key_file.write_text(key.export_private())
    result = node_client.login(site, "demo-fapi2", private_key=key_file)
    assert result["require_pushed_authorization_requests"] is True
    assert set(query_of(result["authorization_url"])) == {"client_id", "request_uri"}
    callback = query_of(result["callback"])
    assert callback["iss"] == [f"{site}/o"]  # and openid-client compared it with the issuer
    assert result["token_response"]["access_token"]
    assert result["id_token_claims"]["nonce"] == result["pushed"]["nonce"]

    # A client secret is no FAPI 2.0 client authentication: the push is refused.
    refused = node_client.run(site, CLIENT_ID, secret=CLIENT_SECRET)
    assert refused.returncode == 1
    # openid-client surfaces the 401's WWW-Authenticate challenge rather than the JSON error.
    assert "WWWAuthenticateChallengeError" in refused.stdout, refused.stdout
