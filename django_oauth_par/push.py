"""Accepting a push: parse the body, authenticate the client, validate, store.

:func:`push` is the one place that decides whether a pushed authorization request
is accepted. The view only turns its answer or its :class:`ParError` into HTTP.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from django.db import DataError
from django.http import HttpRequest
from django.utils import timezone
from oauthlib import oauth2
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import utils

from . import audit, authorization_details, throttling
from .assertions import ASSERTION_PARAMETERS
from .compat import is_valid_resource_uri
from .conf import par_settings
from .exceptions import ParError
from .issuer import issuer_identifiers
from .models import REQUEST_URI_PREFIX, PushedRequest, reference_digest
from .policy import Policy, enforce_authentication, enforce_request, policy_of
from .registration import registration
from .request_objects import request_object_parameters
from .validators import patterns_client

if TYPE_CHECKING:
    from .compat import OAuthLibCore

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
#: Parameters that may be given more than once (RFC 8707 §2); all others are refused when repeated.
MULTI_VALUED = frozenset({"resource"})
#: Used to authenticate the client and never stored (RFC 9126 §2.1).
CLIENT_AUTHENTICATION_PARAMETERS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})
#: Validated by us rather than by oauthlib, because their checks need the end user.
END_USER_PARAMETERS = frozenset({"prompt"})
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account", "create"})
#: 256 bits of randomness in every reference (RFC 9126 §7.1 asks for enough to defeat guessing).
REFERENCE_BYTES = 32
INVALID_CLIENT_HEADERS = {"WWW-Authenticate": 'Basic realm="oauth"'}


def push(request: HttpRequest, core: OAuthLibCore) -> tuple[str, int]:
    """Accept the pushed authorization request in ``request``; return ``(request_uri, expires_in)``.

    Raises :class:`ParError` for anything refused; nothing is stored then. Rates and
    sizes are checked before any client secret is hashed.
    """
    address = request.META.get("REMOTE_ADDR") or ""
    throttling.check_failed_authentications(address)
    pairs = read_form_body(request)
    try:
        client = authenticate_client(request, pairs, core)
    except ParError as error:
        throttling.count_failed_authentication(address)
        error.client_id = dict(pairs).get("client_id")
        raise
    method = authentication_method(request, pairs)
    authenticated = method != "none"
    try:
        throttling.count_push(client.client_id)
        check_client_binding(pairs, client)
        policy = policy_of(client)
        enforce_authentication(policy, method)
        # The client's redirect URI patterns count only for a push that authenticated it.
        token = patterns_client.set(client if authenticated else None)
        try:
            stored = validate_push(pairs, client, core, policy, request)
        finally:
            patterns_client.reset(token)
    except ParError as error:
        error.client_id = client.client_id
        raise
    request_uri, pushed_request = store(client, stored, policy.request_uri_lifetime, authenticated)
    audit.pushed(request, pushed_request)
    return request_uri, policy.request_uri_lifetime


def authentication_method(request: HttpRequest, pairs: list[tuple[str, str]]) -> str:
    """The client authentication method a push presents, by its RFC 7591 name (``none``: a bare client_id)."""
    names = {name for name, _ in pairs}
    if "client_assertion" in names:
        return "private_key_jwt"
    if "HTTP_AUTHORIZATION" in request.META:
        return "client_secret_basic"
    if "client_secret" in names:
        return "client_secret_post"
    return "none"


def read_form_body(request: HttpRequest) -> list[tuple[str, str]]:
    """The body's parameters in order, after every check that needs no database."""
    if (request.content_type or "").lower() != FORM_MEDIA_TYPE:
        raise ParError("invalid_request", f"The request body must be {FORM_MEDIA_TYPE}.", status=415)
    charset = (request.content_params or {}).get("charset", "utf-8").strip().lower()
    if charset not in ("utf-8", "utf8"):
        raise ParError("invalid_request", "The request body must be encoded as UTF-8.", status=415)

    limit = par_settings.MAX_BODY_BYTES
    too_large = ParError("invalid_request", f"The request body is larger than {limit} bytes.", status=413)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ParError("invalid_request", "The Content-Length header is malformed.") from None
    if declared > limit:
        raise too_large
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise too_large

    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=par_settings.MAX_PARAMETERS,
        )
    except UnicodeDecodeError:
        raise ParError("invalid_request", "The request body is not valid UTF-8.") from None
    except ValueError:
        raise ParError(
            "invalid_request", f"The request has more than {par_settings.MAX_PARAMETERS} parameters."
        ) from None

    pairs = checked_values(pairs)
    repeated = sorted(name for name, count in Counter(name for name, _ in pairs).items() if count > 1)
    repeated = [name for name in repeated if name not in MULTI_VALUED]
    if repeated:
        raise ParError("invalid_request", f"The parameter {audit.printable(repeated[0], 40)} is repeated.")
    return pairs


def checked_values(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Refuse unusable names and values; drop empty ones (RFC 6749 §3.1: treated as omitted)."""
    max_length = par_settings.MAX_VALUE_LENGTH
    for name, value in pairs:
        if not name:
            raise ParError("invalid_request", "A parameter has no name.")
        if "\x00" in name or "\x00" in value:
            raise ParError("invalid_request", "Parameters must not contain NUL characters.")
        if len(name) > max_length or len(value) > max_length:
            raise ParError("invalid_request", f"A parameter is longer than {max_length} characters.")
    return [(name, value) for name, value in pairs if value]


def authenticate_client(request: HttpRequest, pairs: list[tuple[str, str]], core: OAuthLibCore) -> Any:
    """Authenticate the client through DOT's validator, as its token endpoint does; return its Application.

    One method per request (RFC 6749 §2.3): a client that sends an ``Authorization``
    header is judged by that header alone. DOT would otherwise fall back to the body
    when Basic fails, and the ``client_id`` that PAR requires there would pass for a
    public client, turning a wrong secret into a success.

    The view's validator carries :class:`~django_oauth_par.assertions.PrivateKeyJWTMixin`,
    which accepts ``private_key_jwt`` and holds each client to its registered method.
    """
    failed = ParError(
        "invalid_client", "Client authentication failed.", status=401, headers=INVALID_CLIENT_HEADERS
    )
    credentials = pairs
    if "HTTP_AUTHORIZATION" in request.META:
        if request.META["HTTP_AUTHORIZATION"].split(" ", 1)[0] != "Basic":
            raise failed
        if any(name == "client_secret" or name in ASSERTION_PARAMETERS for name, _ in pairs):
            raise ParError("invalid_request", "Use one client authentication method, not two.")
        credentials = [(name, value) for name, value in pairs if name != "client_id"]
    headers = core.extract_headers(request)
    oauth_request = OAuthlibRequest(request.build_absolute_uri(request.path), "POST", credentials, headers)
    validator = core.server.request_validator
    try:
        if validator.client_authentication_required(oauth_request):
            authenticated = validator.authenticate_client(oauth_request)
        else:
            authenticated = validator.authenticate_client_id(oauth_request.client_id, oauth_request)
    except (ValueError, UnicodeError, DataError):
        # A Basic header that is not base64 or not UTF-8, or credentials the database cannot
        # even compare (a NUL on PostgreSQL), are a failed authentication, not a crash.
        authenticated = False
    client = getattr(oauth_request, "client", None)
    if not authenticated or client is None:
        # PrivateKeyJWTMixin says why an assertion or a method was refused; nothing secret is in it.
        reason = getattr(oauth_request, "par_error", None)
        if isinstance(reason, ParError):
            reason.headers = dict(INVALID_CLIENT_HEADERS)
            raise reason
        raise failed
    return client


def check_client_binding(pairs: list[tuple[str, str]], client: Any) -> None:
    """``client_id`` must be in the body and name the authenticated client (RFC 9126 §2)."""
    client_id = dict(pairs).get("client_id")
    if client_id is None:
        raise ParError("invalid_request", "The client_id parameter is required.")
    if client_id != client.client_id:
        raise ParError("invalid_request", "The client_id parameter does not match the authenticated client.")


def validate_push(
    pairs: list[tuple[str, str]], client: Any, core: OAuthLibCore, policy: Policy, request: HttpRequest
) -> list[tuple[str, str]]:
    """Validate as DOT's authorization endpoint would, and against the client's policy; return the
    parameters to store.

    A push carrying a signed request object (``request``, RFC 9126 §3) is validated from
    the object's parameters alone, by exactly the checks below that a plain push meets.
    """
    names = {name for name, _ in pairs}
    if "request_uri" in names:
        raise ParError("invalid_request", "The request_uri parameter is not allowed in a pushed request.")
    settings = registration(client)
    if "request" in names:
        issuers = issuer_identifiers(request)
        pairs = checked_values(request_object_parameters(pairs, client.client_id, settings.keys, issuers))
    elif settings.require_signed_request_object or par_settings.REQUIRE_SIGNED_REQUEST_OBJECT:
        raise ParError(
            "invalid_request",
            "This client must send its authorization request as a signed request object "
            "(the request parameter).",
        )

    stored = [(name, value) for name, value in pairs if name not in CLIENT_AUTHENTICATION_PARAMETERS]
    params = dict(stored)
    enforce_request(policy, params)
    prompt = params.get("prompt", "").split()
    if any(value not in PROMPT_VALUES for value in prompt):
        raise ParError("invalid_request", "The prompt parameter has an unsupported value.")
    if "none" in prompt and len(prompt) > 1:
        raise ParError("invalid_request", "prompt=none cannot be combined with other prompt values.")

    if authorization_details.PARAMETER in params:
        authorization_details.validate(params[authorization_details.PARAMETER], client)

    for name, value in stored:
        if name == "resource" and not is_valid_resource_uri(value):
            raise ParError(
                "invalid_target",
                "Each resource must be an absolute URI with a scheme and host and no fragment.",
            )

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


def store(
    client: Any, parameters: list[tuple[str, str]], lifetime: int, authenticated: bool
) -> tuple[str, PushedRequest]:
    request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(REFERENCE_BYTES)
    now = timezone.now()
    pushed_request = PushedRequest.objects.create(
        application=client,
        digest=reference_digest(request_uri),
        parameters=[list(pair) for pair in parameters],
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        client_authenticated=authenticated,
    )
    return request_uri, pushed_request
