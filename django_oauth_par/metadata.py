"""What this app adds to DOT's discovery documents: PAR (RFC 9126 §5), keys and request objects."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse

from .assertions import assertion_algorithms, token_endpoint_accepts_assertions
from .authorization_details import supported_types
from .compat import ConnectDiscoveryInfoView, OAuthServerMetadataView
from .conf import par_settings
from .models import PRIVATE_KEY_JWT
from .policy import fapi2, iss_in_authorization_responses, par_required_for_every_client

PUSH_URL_NAME = "oauth_par:push"


def is_metadata_view(view_class: type) -> bool:
    return issubclass(view_class, (OAuthServerMetadataView, ConnectDiscoveryInfoView))


def push_endpoint_path() -> str | None:
    try:
        return reverse(PUSH_URL_NAME)
    except NoReverseMatch:
        return None


#: Where a document lists the methods of an endpoint that authenticates clients as the token endpoint does.
AUTH_METHOD_FIELDS = (
    "token_endpoint_auth_methods_supported",
    "revocation_endpoint_auth_methods_supported",
    "introspection_endpoint_auth_methods_supported",
)


def add_signing_metadata(document: dict[str, Any]) -> None:
    """Key-based client authentication and request objects (RFC 8414 §2, RFC 9101 §10.5).

    ``private_key_jwt`` is announced only when DOT's own endpoints accept it too (the
    site's validator carries PrivateKeyJWTMixin, or DOT has it natively): a client that
    reads the metadata uses the same method at the token endpoint as at PAR.
    """
    algorithms = par_settings.SIGNING_ALGORITHMS
    if token_endpoint_accepts_assertions():
        for name in AUTH_METHOD_FIELDS:
            if name in document or name == AUTH_METHOD_FIELDS[0]:
                methods = [] if fapi2() else document.get(name) or []  # the profile: keys only
                document[name] = [*methods, *([PRIVATE_KEY_JWT] if PRIVATE_KEY_JWT not in methods else [])]
        known = document.get("token_endpoint_auth_signing_alg_values_supported") or []
        document["token_endpoint_auth_signing_alg_values_supported"] = list(
            dict.fromkeys([*known, *assertion_algorithms()])
        )
    document["request_parameter_supported"] = True
    document["request_object_signing_alg_values_supported"] = algorithms
    if par_settings.REQUIRE_SIGNED_REQUEST_OBJECT:
        document["require_signed_request_object"] = True


def add_par_metadata(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if getattr(response, "streaming", False) or response.status_code != 200:
        return response
    if not response.get("Content-Type", "").startswith("application/json"):
        return response
    try:
        document = json.loads(response.content)
    except ValueError:
        return response
    if not isinstance(document, dict):
        return response
    path = push_endpoint_path()
    if path is not None:
        # The endpoint lives beside the token endpoint, on whatever host DOT announces for it.
        base = document.get("token_endpoint") or request.build_absolute_uri("/")
        document["pushed_authorization_request_endpoint"] = urljoin(base, path)
    document["require_pushed_authorization_requests"] = par_required_for_every_client()
    if iss_in_authorization_responses():
        document["authorization_response_iss_parameter_supported"] = True
    types = supported_types()
    if types:  # RFC 9396 §10: announced only by a server that accepts some type
        document["authorization_details_types_supported"] = types
    add_signing_metadata(document)
    response.content = json.dumps(document).encode()
    response["Content-Length"] = str(len(response.content))
    return response
