"""Accepting a push: parse the body, authenticate the client, validate, store.

:func:`push` is the one place that decides whether a pushed authorization request
is accepted. The view only turns its answer or its :class:`ParError` into HTTP.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import secrets
from collections import Counter
from contextlib import nullcontext, suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from django.contrib.auth.hashers import make_password
from django.core.exceptions import FieldDoesNotExist
from django.db import DataError, connections, router, transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings
from oauthlib import oauth2
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import utils

from . import audit, authorization_details, replay, throttling
from .assertions import ASSERTION_PARAMETERS, method_presented, push_endpoint_uri
from .compat import is_valid_resource_uri
from .conf import par_settings
from .exceptions import INVALID_CLIENT_HEADERS, ParError
from .issuer import issuer_identifiers
from .models import REQUEST_URI_PREFIX, PushedRequest, reference_digest
from .policy import Policy, enforce_authentication, enforce_request, policy_of
from .redirect_patterns import patterns_client
from .registration import registration
from .reports import hide_from_error_reports
from .request_objects import request_object_parameters
from .secret_cache import secret_checked

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
#: Pushed parameters that are URIs, and the error a malformed one gets (RFC 8707 §2: invalid_target).
URI_PARAMETERS = {"redirect_uri": "invalid_request", "resource": "invalid_target"}
ADDRESS_SALT = "django_oauth_par.push-address"


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
        request_uri, pushed_request = store(client, stored, policy.request_uri_lifetime, address_or_none)
    except ParError as error:
        error.client_id = client.client_id
        raise
    audit.pushed(request, pushed_request)
    return request_uri, policy.request_uri_lifetime


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


def limit_unauthenticated_push(size: int, address: str) -> None:
    """The smaller size and the per-address rate of a push without client authentication."""
    limit = par_settings.UNAUTHENTICATED_MAX_BODY_BYTES
    if size > limit:
        raise ParError(
            "invalid_request",
            f"A request body without client authentication must not be larger than {limit} bytes.",
            status=413,
        )
    throttling.count_unauthenticated_push(address)


@sensitive_variables()
def read_form_body(request: HttpRequest) -> tuple[list[tuple[str, str]], int]:
    """The body's parameters in order, and its size in bytes, after every check that needs no database."""
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
    return pairs, len(raw)


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


def check_client_binding(pairs: list[tuple[str, str]], client: Any) -> None:
    """``client_id`` must be in the body and name the authenticated client (RFC 9126 §2)."""
    client_id = dict(pairs).get("client_id")
    if client_id is None:
        raise ParError("invalid_request", "The client_id parameter is required.")
    if client_id != client.client_id:
        raise ParError("invalid_request", "The client_id parameter does not match the authenticated client.")


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


def store(
    client: Any, parameters: list[tuple[str, str]], lifetime: int, address: str | None
) -> tuple[str, PushedRequest]:
    """Store the push; ``address`` is where it came from when it was not authenticated, else None."""
    request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(REFERENCE_BYTES)
    now = timezone.now()
    # Only a push that did not authenticate its client needs the count and the insert together.
    together = (
        nullcontext() if address is None else transaction.atomic(using=router.db_for_write(PushedRequest))
    )
    with together:
        digest = "" if address is None else hold_unauthenticated_slot(client, address, now)
        pushed_request = PushedRequest.objects.create(
            application=client,
            digest=reference_digest(request_uri),
            parameters=[list(pair) for pair in parameters],
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
            client_authenticated=address is None,
            address_digest=digest,
        )
    return request_uri, pushed_request


def address_digest(address: str) -> str:
    """A keyed hash of an address: enough to count by, useless to anyone reading the table."""
    return salted_hmac(ADDRESS_SALT, address, algorithm="sha256").hexdigest()


def hold_unauthenticated_slot(client: Any, address: str, now: Any) -> str:
    """Make room for one more unredeemed push without client authentication, or refuse with 429.

    Anyone may push in a public client's name, so such pushes are bounded: per client,
    ``UNAUTHENTICATED_PENDING_PER_CLIENT`` unredeemed rows at most (its expired unredeemed rows are
    deleted to make room when it is reached), and per address ``UNAUTHENTICATED_PENDING_PER_ADDRESS``
    pending ones, so one address cannot take the client's whole allowance. Returns the
    address's digest for the new row. Runs in the caller's transaction.
    """
    digest = address_digest(address)
    # Concurrent pushes for one client count one after the other: lock its row (FOR NO KEY
    # UPDATE where the database has it, which does not block DOT inserting its tokens).
    application_model = get_application_model()
    features = connections[router.db_for_write(application_model)].features
    locked = application_model.objects.select_for_update(no_key=features.has_select_for_no_key_update)
    list(locked.filter(pk=client.pk).values_list("pk"))

    unredeemed = PushedRequest.objects.filter(
        application=client, redeemed_at__isnull=True, client_authenticated=False
    )
    counts = unredeemed.aggregate(
        total=Count("pk"), pending_here=Count("pk", filter=Q(address_digest=digest, expires_at__gt=now))
    )
    retry = {"Retry-After": str(par_settings.REQUEST_URI_LIFETIME)}
    if counts["pending_here"] >= par_settings.UNAUTHENTICATED_PENDING_PER_ADDRESS:
        raise ParError(
            "invalid_request",
            "Too many pending pushed requests from this address. Try again later.",
            status=429,
            headers=retry,
        )
    limit = par_settings.UNAUTHENTICATED_PENDING_PER_CLIENT
    if counts["total"] >= limit:
        unredeemed.filter(expires_at__lte=now).delete()
        if unredeemed.count() >= limit:
            raise ParError(
                "invalid_request",
                "Too many pending pushed requests for this client. Try again later.",
                status=429,
                headers=retry,
            )
    return digest


#: Where DOT stores each pushed parameter it keeps: (model getter, field name). The grant
#: holds the request; the token endpoint copies the scope and resources into its tokens.
STORED_BY_DOT = {
    "redirect_uri": [(get_grant_model, "redirect_uri")],
    "scope": [(get_grant_model, "scope"), (get_access_token_model, "scope"), (get_id_token_model, "scope")],
    "code_challenge": [(get_grant_model, "code_challenge")],
    "code_challenge_method": [(get_grant_model, "code_challenge_method")],
    "nonce": [(get_grant_model, "nonce")],
    "claims": [(get_grant_model, "claims")],
    "resource": [
        (get_grant_model, "resource"),
        (get_access_token_model, "resource"),
        (get_refresh_token_model, "resource"),
    ],
}


def stored_form(name: str, values: list[str]) -> str:
    """The text DOT writes for a parameter: its scope joined by single spaces, its claims and
    resources re-serialised as JSON, everything else as it came."""
    if name == "scope":
        return " ".join(utils.scope_to_list(values[0]))
    if name == "claims":
        try:
            return json.dumps(json.loads(values[0]))
        except ValueError:
            return values[0]  # oauthlib refuses it; its length is no more our concern
    if name == "resource":
        return json.dumps(values)
    return values[0]


def check_storable(pairs: list[tuple[str, str]]) -> None:
    """Refuse, now, any value longer than the installed DOT's models can store.

    Otherwise the push succeeds and the user consents, then DOT's write of the grant or
    the token fails (on PostgreSQL; SQLite would keep it whole). The limits are read from
    the models in use, so a swapped model's own sizes count.
    """
    for name, places in STORED_BY_DOT.items():
        values = [value for key, value in pairs if key == name]
        if not values:
            continue
        length = len(stored_form(name, values))
        for get_model, field_name in places:
            try:
                max_length = get_model()._meta.get_field(field_name).max_length
            except FieldDoesNotExist:  # an older DOT, or a swapped model without it
                continue
            if max_length is not None and length > max_length:
                raise ParError(
                    "invalid_request", f"The {name} parameter is longer than {max_length} characters."
                )


#: RFC 3986 §2: the characters a URI may hold (non-ASCII ones must be percent-encoded).
URI_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*\Z")
BROKEN_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*\Z")
IP_LITERAL = re.compile(r"\[([^\[\]]*)\](?::[0-9]*)?\Z")


def is_well_formed_uri(value: str) -> bool:
    """Whether ``value`` is an absolute URI by RFC 3986's grammar, as far as DOT, oauthlib and
    urllib need: anything they could choke on (a port above 65535, a broken IPv6 literal, a
    bad percent-escape, a non-ASCII host) is refused here, for every URI parameter at once."""
    if not URI_CHARACTERS.match(value) or BROKEN_PERCENT_ESCAPE.search(value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is not a number in 0-65535
    except ValueError:
        return False
    if not SCHEME.match(parts.scheme):
        return False
    # Brackets are allowed around an IPv6 host only (RFC 3986 §3.2.2), nowhere else.
    if value.count("[") + value.count("]"):
        literal = IP_LITERAL.match(parts.netloc.rpartition("@")[2])
        if literal is None or value.count("[") + value.count("]") != 2:
            return False
        try:
            ipaddress.IPv6Address(literal.group(1))
        except ValueError:  # IPvFuture literals too: no client registers one
            return False
    return True
