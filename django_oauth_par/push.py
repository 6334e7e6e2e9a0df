"""Accepting a push: parse the body, authenticate the client, validate, store.

:func:`push` is the one place that decides whether a pushed authorization request
is accepted. The view only turns its answer or its :class:`ParError` into HTTP.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from oauth2_provider.models import AbstractApplication
from oauth2_provider.settings import oauth2_settings
from oauthlib import oauth2
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import utils

from . import audit, authorization_details, replay, throttling
from .client_authentication import (
    CLIENT_AUTHENTICATION_PARAMETERS,
    authenticated_client,
    authentication_method,
    basic_credentials,
    check_client_binding,
    claimed_client_id,
    credentials_presented,
)
from .compat import is_valid_resource_uri
from .conf import par_settings
from .exceptions import ParError
from .issuer import issuer_identifiers
from .models import PushedRequest
from .policy import Policy, enforce_authentication, enforce_request, policy_of
from .push_body import checked_values, limit_unauthenticated_push, read_form_body
from .push_storage import check_storable, store
from .redirect_patterns import patterns_client
from .registration import registration
from .reports import hide_from_error_reports
from .request_objects import request_object_parameters
from .uris import is_well_formed_uri

if TYPE_CHECKING:
    from .compat import OAuthLibCore

#: Validated by us rather than by oauthlib, because their checks need the end user.
END_USER_PARAMETERS = frozenset({"prompt"})
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account", "create"})
#: Pushed parameters that are URIs, and the error a malformed one gets (RFC 8707 §2: invalid_target).
URI_PARAMETERS = {"redirect_uri": "invalid_request", "resource": "invalid_target"}


@sensitive_variables()
def push(request: HttpRequest, core: OAuthLibCore) -> tuple[str, int]:
    """Accept the pushed authorization request in ``request``; return ``(request_uri, expires_in)``.

    Raises :class:`ParError` for anything refused; nothing is stored then. Sizes are
    checked before anything else, and the rates take their slots before the client is
    authenticated, so a push they refuse costs no secret's hash.
    """
    address = throttling.client_address(request)
    pairs, size = read_form_body(request)
    hide_from_error_reports(request, [value for _name, value in pairs] + basic_credentials(request))
    presented = credentials_presented(request, pairs)
    if not presented:
        limit_unauthenticated_push(size, address)  # before any query: there is nothing to authenticate

    failure_slot = throttling.reserve_failed_authentication(address)
    try:
        push_slot = throttling.reserve_push(claimed_client_id(request, pairs)) if presented else None
    except ParError:
        throttling.release(failure_slot)
        raise
    # The client assertion's jti and the request object's are recorded together, once both
    # tokens are verified: one cache round trip, and none recorded for a refused push.
    with replay.recorded_together():
        client, push_slot = authenticated_client(request, pairs, core, failure_slot, push_slot)
        # A public client's secret proves nothing (RFC 6749 §2.1): anyone may hold it, so only a
        # confidential client's push counts as authenticated, for every rule that depends on it.
        authenticated = presented and client.client_type == AbstractApplication.CLIENT_CONFIDENTIAL
        method = authentication_method(request, pairs) if authenticated else "none"
        try:
            if presented and not authenticated:
                # Limited as a push without credentials; it does not count against PUSH_RATE.
                throttling.release(push_slot)
                limit_unauthenticated_push(size, address)
            check_client_binding(pairs, client)
            policy = policy_of(client)
            enforce_authentication(policy, method)
            pairs = request_parameters(pairs, client, request)
            replay.record()
            # The client's redirect URI patterns count only for a push that authenticated it.
            token = patterns_client.set(client if authenticated else None)
            try:
                stored = validate_push(pairs, client, core, policy)
            finally:
                patterns_client.reset(token)
        except ParError as error:
            if error.error == "invalid_client":
                # A replayed client assertion, found once the request object was verified too: a
                # failed authentication after all, counted as one.
                throttling.release(push_slot)
                with suppress(ParError):
                    throttling.reserve_failed_authentication(address)
            error.client_id = client.client_id
            raise
    try:
        address_or_none = None if authenticated else address
        # The pushed request and its audit rows are written together: one commit, the expensive
        # part of a write, and never a pushed request without its audit trail.
        with audit.written_with(PushedRequest):
            request_uri, pushed_request = store(client, stored, policy.request_uri_lifetime, address_or_none)
            audit.pushed(request, pushed_request)
    except ParError as error:
        error.client_id = client.client_id
        raise
    return request_uri, policy.request_uri_lifetime


def request_parameters(
    pairs: list[tuple[str, str]], client: Any, request: HttpRequest
) -> list[tuple[str, str]]:
    """The authorization request a push carries: as sent, or from its signed request object.

    A push carrying a signed request object (``request``, RFC 9126 §3) is verified here and
    then validated from the object's parameters alone, by exactly the checks a plain push meets.
    """
    names = {name for name, _ in pairs}
    if "request_uri" in names:
        raise ParError("invalid_request", "The request_uri parameter is not allowed in a pushed request.")
    settings = registration(client)
    if "request" in names:
        issuers = issuer_identifiers(request)
        pairs = checked_values(request_object_parameters(pairs, client.client_id, settings.keys, issuers))
        hide_from_error_reports(request, [value for _name, value in pairs])
        return pairs
    if settings.require_signed_request_object or par_settings.REQUIRE_SIGNED_REQUEST_OBJECT:
        raise ParError(
            "invalid_request",
            "This client must send its authorization request as a signed request object "
            "(the request parameter).",
        )
    return pairs


def validate_push(
    pairs: list[tuple[str, str]], client: Any, core: OAuthLibCore, policy: Policy
) -> list[tuple[str, str]]:
    """Validate as DOT's authorization endpoint would, and against the client's policy; return the
    parameters to store. ``pairs`` come from :func:`request_parameters`, pushed plainly or in a
    request object: the checks are the same.
    """
    stored = [(name, value) for name, value in pairs if name not in CLIENT_AUTHENTICATION_PARAMETERS]
    params = dict(stored)
    enforce_request(policy, params)
    prompt = params.get("prompt", "").split()
    if any(value not in PROMPT_VALUES for value in prompt):
        raise ParError("invalid_request", "The prompt parameter has an unsupported value.")
    if "none" in prompt and len(prompt) > 1:
        raise ParError("invalid_request", "prompt=none cannot be combined with other prompt values.")
    # Prompt Create 1.0 §4.1.1; DOT before 3.2 has no such setting (and no prompt=create).
    if "create" in prompt and not getattr(oauth2_settings, "OIDC_RP_INITIATED_REGISTRATION_ENABLED", False):
        raise ParError("invalid_request", "prompt=create is not supported.")

    if authorization_details.PARAMETER in params:
        authorization_details.validate(params[authorization_details.PARAMETER], client)

    for name, value in stored:
        error = URI_PARAMETERS.get(name)
        if error is not None and not is_well_formed_uri(value):
            raise ParError(error, f"The {name} parameter is not a well-formed absolute URI.")
        if name == "resource" and not is_valid_resource_uri(value):
            raise ParError(
                "invalid_target",
                "Each resource must be an absolute URI with a scheme and host and no fragment.",
            )

    check_storable(stored)
    checked = [(name, value) for name, value in stored if name not in END_USER_PARAMETERS]
    try:
        validate_with_server(core.server, checked, client)
    except oauth2.OAuth2Error as error:
        raise ParError(error.error, error.description or "The authorization request is invalid.") from None
    return stored


def validate_with_server(server: Any, params: list[tuple[str, str]], client: Any) -> None:
    """Run the server's own authorization-request validation over ``params``.

    This is what ``server.validate_authorization_request`` does, but with the client that
    authentication already loaded, which saves DOT a second query for it.
    """
    oauth_request = OAuthlibRequest("https://localhost/authorize?" + urlencode(params), "GET", None, {})
    oauth_request.scopes = utils.scope_to_list(oauth_request.scope)
    oauth_request.client = client
    handlers = getattr(server, "response_types", None)
    if handlers is None:  # a server class of the site's own making: use its public API
        server.validate_authorization_request(oauth_request.uri, http_method="GET", body=None, headers={})
        return
    handler = handlers.get(oauth_request.response_type, server.default_response_type_handler)
    handler.validate_authorization_request(oauth_request)
