"""Keys and signed JWTs for the tests: a client's key pairs and the tokens it signs."""

from __future__ import annotations

import base64
import functools
import json
import time
import uuid
from typing import Any

import pytest
from jwcrypto import jwk, jws

from django_oauth_par.assertions import ASSERTION_TYPE as ASSERTION_TYPE
from django_oauth_par.registration import dot_has_client_keys

#: For tests of this app's own key verification, jwks_uri fetcher and admin key fields,
#: which a DOT with client keys of its own replaces (its fields are then the one source of truth).
only_where_this_app_verifies_keys = pytest.mark.skipif(
    dot_has_client_keys(),
    reason="DOT verifies private_key_jwt itself; covered by test_native_client_keys.py",
)

ISSUER = "http://testserver/o"
TOKEN_ENDPOINT = "http://testserver/o/token/"
PAR_ENDPOINT = "http://testserver/o/par/"


@functools.cache
def private_key(kind: str = "EC", kid: str | None = None) -> jwk.JWK:
    """One key pair per (kind, kid) for the whole run: generating RSA keys is slow."""
    kid = kid or kind.lower()
    if kind == "RSA":
        key = jwk.JWK.generate(kty="RSA", size=2048, kid=kid)
    elif kind == "RSA1024":
        key = jwk.JWK.generate(kty="RSA", size=1024, kid=kid)
    elif kind == "EC":
        key = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
    elif kind == "EC384":
        key = jwk.JWK.generate(kty="EC", crv="P-384", kid=kid)
    elif kind == "EC521":
        key = jwk.JWK.generate(kty="EC", crv="P-521", kid=kid)
    elif kind == "OKP":
        key = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=kid)
    else:
        raise ValueError(kind)
    return key


def public_set(*keys: jwk.JWK) -> str:
    return json.dumps({"keys": [json.loads(key.export_public()) for key in keys]})


def private_set(*keys: jwk.JWK) -> str:
    return json.dumps({"keys": [json.loads(key.export_private()) for key in keys]})


ALG_OF = {"RSA": "PS256", "EC": "ES256", "EC384": "ES384", "OKP": "EdDSA"}


def sign(claims: dict[str, Any], key: jwk.JWK, alg: str = "ES256", **header: Any) -> str:
    protected = {"alg": alg, **header}
    if "kid" not in header and key.get("kid"):
        protected["kid"] = key.get("kid")
    protected = {name: value for name, value in protected.items() if value is not None}
    token = jws.JWS(json.dumps(claims).encode())
    token.add_signature(key, alg=None, protected=json.dumps(protected))
    return token.serialize(compact=True)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    return f"{b64(json.dumps({'alg': alg}).encode())}.{b64(json.dumps(claims).encode())}."


def assertion_claims(
    client_id: str, aud: Any = ISSUER, lifetime: int = 60, **overrides: Any
) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def assertion(client_id: str, key: jwk.JWK | None = None, alg: str = "ES256", **overrides: Any) -> str:
    return sign(assertion_claims(client_id, **overrides), key or private_key("EC"), alg)


def assertion_params(client_id: str, token: str) -> dict[str, str]:
    return {"client_id": client_id, "client_assertion_type": ASSERTION_TYPE, "client_assertion": token}


def request_object(
    client_id: str, params: dict[str, Any], key: jwk.JWK | None = None, alg: str = "ES256", **overrides: Any
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        **params,
    }
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return sign(claims, key or private_key("EC"), alg, typ="oauth-authz-req+jwt")


def make_key_client(
    client_id: str = "key-client",
    *keys: jwk.JWK,
    method: str = "private_key_jwt",
    client_type: str = "confidential",
    **policy: Any,
) -> Any:
    """A client registered as the admin would register it.

    Its public keys go where the installed DOT reads them: DOT's own Application fields
    when it has them, this app's policy otherwise.
    """
    from .helpers import make_client

    return register_keys(make_client(client_id, client_type=client_type), *keys, method=method, **policy)


def register_keys(application: Any, *keys: jwk.JWK, method: str = "private_key_jwt", **policy: Any) -> Any:
    """Register ``keys`` (all three kinds if none) and ``method`` where the installed DOT reads them."""
    jwks = public_set(*(keys or (private_key("EC"), private_key("RSA"), private_key("OKP"))))
    return register(application, method, jwks, **policy)


def register(application: Any, method: str = "", jwks: str = "", **policy: Any) -> Any:
    """Register ``method`` ("" for "by client type") and ``jwks`` where the installed DOT reads them."""
    from django_oauth_par.models import ClientPolicy

    if dot_has_client_keys():
        application.token_endpoint_auth_method = method
        application.client_jwks = jwks
        application.save()
        ClientPolicy.objects.create(application=application, **policy)
        return application
    ClientPolicy.objects.create(
        application=application, token_endpoint_auth_method=method, jwks=jwks, **policy
    )
    return application


def our_words(description: str) -> str:
    """What a refusal's description must contain: this app's words where it verifies keys, else anything."""
    return "" if dot_has_client_keys() else description
