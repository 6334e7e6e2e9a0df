"""``pushed_authorization_request_endpoint`` in DOT's discovery documents (RFC 9126 §5)."""

from __future__ import annotations

import json
from urllib.parse import urljoin

from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from oauth2_provider.views import ConnectDiscoveryInfoView
from oauth2_provider.views.metadata import OAuthServerMetadataView

from .authorization_details import supported_types
from .policy import iss_in_authorization_responses, par_required_for_every_client

PUSH_URL_NAME = "oauth_par:push"


def is_metadata_view(view_class: type) -> bool:
    return issubclass(view_class, (OAuthServerMetadataView, ConnectDiscoveryInfoView))


def push_endpoint_path() -> str | None:
    try:
        return reverse(PUSH_URL_NAME)
    except NoReverseMatch:
        return None


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
    response.content = json.dumps(document).encode()
    response["Content-Length"] = str(len(response.content))
    return response
