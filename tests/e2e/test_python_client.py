"""An OAuth client we did not write, requests-oauth2client, against a live server.

It discovers the endpoints from the server's metadata (OpenID Connect discovery or RFC 8414),
pushes its authorization request, sends "the browser" (a cookie-keeping requests.Session
that logs in and consents) to the authorization URL it builds, and exchanges the code with
its PKCE verifier. For OpenID Connect it also verifies the ID token (signature, issuer,
audience, nonce) with the keys it discovered.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

import pytest
import requests
from jwcrypto import jwk
from jwskate import Jwk, Jwt
from requests_oauth2client import InvalidGrant, OAuth2Client, PrivateKeyJwt
from requests_oauth2client.authorization_request import RequestUriParameterAuthorizationRequest

from .conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    REQUEST_URI_PREFIX,
    callback_url,
    encodings,
    key_client,
    query_of,
    sign_in_and_consent,
)

# (name, metadata path, issuer path, scope): one issuer, {site}/o, whose RFC 8414 document is
# at the root with the issuer's path appended (RFC 8414 §3) and whose OpenID Connect discovery
# lives under DOT's /o/ prefix.
DISCOVERIES = [
    pytest.param("/o/.well-known/openid-configuration", "/o", "openid read", id="openid-connect-discovery"),
    pytest.param("/.well-known/oauth-authorization-server/o", "/o", "read", id="rfc8414-metadata"),
]


@pytest.mark.parametrize(("metadata_path", "issuer_path", "scope"), DISCOVERIES)
def test_requests_oauth2client_par_login(site, metadata_path, issuer_path, scope):
    metadata = requests.get(site + metadata_path, timeout=10).json()
    assert metadata["pushed_authorization_request_endpoint"] == f"{site}/o/par/"
    assert metadata["require_pushed_authorization_requests"] is False

    client = OAuth2Client.from_discovery_endpoint(
        site + metadata_path,
        issuer=site + issuer_path,
        auth=(CLIENT_ID, CLIENT_SECRET),
        redirect_uri=callback_url(site),
        testing=True,  # plain http on localhost: skip the library's https checks, nothing else
    )
    assert client.pushed_authorization_request_endpoint == f"{site}/o/par/"

    authorization_request = client.authorization_request(scope=scope)
    assert authorization_request.code_challenge_method == "S256"
    pushed = client.pushed_authorization_request(authorization_request)
    assert isinstance(pushed, RequestUriParameterAuthorizationRequest)
    assert pushed.request_uri.startswith(REQUEST_URI_PREFIX)
    assert pushed.expires_at is not None
    lifetime = (pushed.expires_at - datetime.now(tz=pushed.expires_at.tzinfo)).total_seconds()
    assert 50 < lifetime <= 60, lifetime
    assert set(query_of(pushed.uri)) == {"client_id", "request_uri"}

    callback, visited = sign_in_and_consent(requests.Session(), pushed.uri, callback_url(site))

    # Nothing of the pushed request travelled through "the browser" before the callback.
    for value in (
        authorization_request.state,
        authorization_request.code_challenge,
        authorization_request.nonce,
    ):
        if value:
            assert not [url for url in visited for form in encodings(value) if form in url]

    response = authorization_request.validate_callback(callback)
    tokens = client.authorization_code(response)  # adds redirect_uri and the PKCE code_verifier
    assert tokens.access_token
    assert tokens.token_type.lower() == "bearer"
    assert set(tokens.scope.split()) == set(scope.split())
    if "openid" in scope:
        # authorization_code() has validated the ID token: signature, iss, aud, exp and nonce.
        assert tokens.id_token is not None
        assert tokens.id_token.claims["nonce"] == authorization_request.nonce
        assert tokens.id_token.issuer == f"{site}/o"
    else:
        assert tokens.id_token is None

    # The code is single-use: a second exchange is refused.
    with pytest.raises(InvalidGrant):
        client.authorization_code(response)


def test_requests_oauth2client_private_key_jwt_with_a_signed_request_object(site):
    """private_key_jwt by the library (ES256, aud = the endpoint posted to), at PAR and the token endpoint.

    The library signs request objects without iss, aud or jti, which RFC 9101 servers require, so
    the request object is signed with the library's own JWT class from its authorization request's
    parameters plus those claims: what a site's integration code does with it.
    """
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="py-ec")
    key_client(site, "py-keyed", key, require_signed_request_object=True)
    private_jwk = Jwk(json.loads(key.export_private()))
    client = OAuth2Client.from_discovery_endpoint(
        f"{site}/o/.well-known/openid-configuration",
        issuer=f"{site}/o",
        auth=PrivateKeyJwt("py-keyed", private_jwk, alg="ES256"),
        redirect_uri=callback_url(site),
        testing=True,
    )
    authorization_request = client.authorization_request(scope="openid read")
    claims = {
        **authorization_request.args,
        "iss": "py-keyed",
        "aud": f"{site}/o",
        "iat": Jwt.timestamp(),
        "exp": Jwt.timestamp(60),
        "jti": secrets.token_urlsafe(16),
    }
    request_object = Jwt.sign(claims, key=private_jwk, alg="ES256")
    # The library's PrivateKeyJwt is a requests auth: it adds a fresh assertion to the body.
    answer = requests.post(
        client.pushed_authorization_request_endpoint,
        data={"client_id": "py-keyed", "request": str(request_object)},
        auth=client.auth,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    pushed = client.parse_pushed_authorization_response(answer)
    assert isinstance(pushed, RequestUriParameterAuthorizationRequest)

    callback, _visited = sign_in_and_consent(requests.Session(), pushed.uri, callback_url(site))
    tokens = client.authorization_code(authorization_request.validate_callback(callback))
    assert tokens.access_token
    assert tokens.id_token is not None
    assert tokens.id_token.claims["nonce"] == authorization_request.nonce
