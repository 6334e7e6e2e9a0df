"""Who pushed: the client authentication of a push, as DOT's token endpoint performs it.

:func:`authenticate_client` is the one place that authenticates the client of a push. It
goes through DOT's validator, so the site's validator class and this app's mixins apply;
:func:`authenticated_client` settles the rate slots taken before it ran.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from django.contrib.auth.hashers import make_password
from django.db import DataError
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from oauthlib.common import Request as OAuthlibRequest

from . import throttling
from .assertions import ASSERTION_PARAMETERS, method_presented, push_endpoint_uri
from .exceptions import INVALID_CLIENT_HEADERS, ParError
from .secret_cache import secret_checked

if TYPE_CHECKING:
    from .compat import OAuthLibCore


#: Used to authenticate the client and never stored (RFC 9126 §2.1).
CLIENT_AUTHENTICATION_PARAMETERS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


def authenticated_client(
    request: HttpRequest,
    pairs: list[tuple[str, str]],
    core: OAuthLibCore,
    failure_slot: throttling.Window | None,
    push_slot: throttling.Window | None,
) -> tuple[Any, throttling.Window | None]:
    """:func:`authenticate_client`, settling the rate slots taken for it; return the client and push slot."""
    try:
        client = authenticate_client(request, pairs, core)
    except ParError as error:  # a failed authentication: its slot stays taken
        throttling.release(push_slot)
        error.client_id = dict(pairs).get("client_id")
        raise
    except BaseException:  # a database fault, say, is no failed authentication
        throttling.release(push_slot)
        throttling.release(failure_slot)
        raise
    throttling.release(failure_slot)
    return client, push_slot


@sensitive_variables()
def authenticate_client(request: HttpRequest, pairs: list[tuple[str, str]], core: OAuthLibCore) -> Any:
    """Authenticate the client through DOT's validator, as its token endpoint does; return its Application.

    One method per request (RFC 6749 §2.3): a client that sends an ``Authorization``
    header is judged by that header alone. DOT would otherwise fall back to the body
    when Basic fails, and the ``client_id`` that PAR requires there would pass for a
    public client, turning a wrong secret into a success.

    The view's validator carries :class:`~django_oauth_par.assertions.PrivateKeyJWTMixin`,
    which accepts ``private_key_jwt`` and holds each client to its registered method.

    DOT's validator sees the authentication parameters only: its token-endpoint rules
    depend on ``grant_type`` (a public client's secret goes unchecked for the device
    grant), and a push has no grant type.
    """
    failed = ParError(
        "invalid_client", "Client authentication failed.", status=401, headers=INVALID_CLIENT_HEADERS
    )
    presented = credentials_presented(request, pairs)
    accepted = CLIENT_AUTHENTICATION_PARAMETERS | {"client_id"}
    if "HTTP_AUTHORIZATION" in request.META:
        if request.META["HTTP_AUTHORIZATION"].split(" ", 1)[0] != "Basic":
            raise failed
        if any(name == "client_secret" or name in ASSERTION_PARAMETERS for name, _ in pairs):
            raise ParError("invalid_request", "Use one client authentication method, not two.")
        accepted = CLIENT_AUTHENTICATION_PARAMETERS
    credentials = [(name, value) for name, value in pairs if name in accepted]
    headers = core.extract_headers(request)
    oauth_request = OAuthlibRequest(push_endpoint_uri(request, pairs), "POST", credentials, headers)
    oauth_request.django_request = request  # what the assertion's audience is checked against
    validator = core.server.request_validator
    checked = secret_checked.set(False)
    try:
        if presented:
            authenticated = validator.authenticate_client(oauth_request)
        else:
            authenticated = validator.authenticate_client_id(oauth_request.client_id, oauth_request)
    except (ValueError, UnicodeError, DataError):
        # A Basic header that is not base64 or not UTF-8, or credentials the database cannot
        # even compare (a NUL on PostgreSQL), are a failed authentication, not a crash.
        authenticated = False
    finally:
        reached_the_check = secret_checked.get()
        secret_checked.reset(checked)
    secret_presented = "HTTP_AUTHORIZATION" in request.META or any(
        name == "client_secret" for name, _ in pairs
    )
    if secret_presented and not reached_the_check:
        # No client to check the secret against: hash once anyway, as Django's ModelBackend
        # does for an unknown user, so an unknown client_id answers as slowly as a wrong secret.
        make_password(secrets.token_urlsafe(16))
    client = getattr(oauth_request, "client", None)
    if not authenticated or client is None:
        # PrivateKeyJWTMixin says why an assertion or a method was refused; nothing secret is in it.
        reason = getattr(oauth_request, "par_error", None)
        if isinstance(reason, ParError):
            raise reason
        raise failed
    return client


def authentication_method(request: HttpRequest, pairs: list[tuple[str, str]]) -> str:
    """The client authentication method a push presents, by its RFC 7591 name (``none``: a bare client_id)."""
    return method_presented(dict(pairs), request.META.get("HTTP_AUTHORIZATION", ""))


def credentials_presented(request: HttpRequest, pairs: list[tuple[str, str]]) -> bool:
    """Whether the push carries client credentials: what decides how it is authenticated.

    Decided from the request alone, never from DOT's grant-type-dependent
    ``client_authentication_required``: a wrong secret is refused whatever else the body says.
    """
    return "HTTP_AUTHORIZATION" in request.META or any(
        name in CLIENT_AUTHENTICATION_PARAMETERS for name, _ in pairs
    )


@sensitive_variables()
def basic_credentials(request: HttpRequest) -> list[str]:
    """The Basic header's encoded and decoded credentials, to keep out of error reports."""
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Basic" or not encoded:
        return []
    try:
        decoded = base64.b64decode(encoded).decode("utf-8")
    except (ValueError, binascii.Error):
        return [encoded]
    _client_id, _, secret = decoded.partition(":")
    return [encoded, decoded, unquote_plus(secret), secret]


@sensitive_variables()
def claimed_client_id(request: HttpRequest, pairs: list[tuple[str, str]]) -> str:
    """The client a push claims to come from, before that is verified: what PUSH_RATE reserves against."""
    credentials = basic_credentials(request)
    if len(credentials) > 1:
        return unquote_plus(credentials[1].partition(":")[0])
    return dict(pairs).get("client_id", "")


def check_client_binding(pairs: list[tuple[str, str]], client: Any) -> None:
    """``client_id`` must be in the body and name the authenticated client (RFC 9126 §2)."""
    client_id = dict(pairs).get("client_id")
    if client_id is None:
        raise ParError("invalid_request", "The client_id parameter is required.")
    if client_id != client.client_id:
        raise ParError("invalid_request", "The client_id parameter does not match the authenticated client.")
