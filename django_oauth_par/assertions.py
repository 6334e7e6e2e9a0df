"""``private_key_jwt`` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9).

:func:`verify_client_assertion` decides whether an assertion authenticates a client.
It is used at the PAR endpoint and, through :class:`PrivateKeyJWTMixin`, wherever DOT
authenticates clients (token, revocation, introspection), so both accept the same
assertions. Every refusal is ``401 invalid_client``; the assertion is used for
authentication only and is never stored or logged (only a digest of its ``jti`` is
kept, to refuse a replay: see :mod:`~django_oauth_par.replay`).
"""

from __future__ import annotations

import binascii
import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from oauthlib.common import Request as OAuthlibRequest

from . import jose, replay
from .conf import par_settings
from .exceptions import INVALID_CLIENT_HEADERS, ParError
from .issuer import issuer_identifiers
from .keys import ClientKeys
from .models import PRIVATE_KEY_JWT
from .policy import FAPI2_AUTHENTICATION_METHODS, fapi2
from .registration import dot_has_client_keys, registration

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_PARAMETERS = frozenset({"client_assertion", "client_assertion_type"})
WHAT = "client assertion"


def refuse(description: str) -> ParError:
    return ParError(
        "invalid_client",
        description,
        status=401,
        headers=INVALID_CLIENT_HEADERS,
        reason="invalid_client_assertion",
    )


def verify_client_assertion(
    assertion_type: str | None,
    assertion: str | None,
    client_id: str,
    keys: ClientKeys,
    audiences: Iterable[str],
) -> None:
    """Accept ``assertion`` as proof that the caller holds a private key of ``client_id``.

    Checked in this order, so that nothing unsigned can use up a ``jti``: the assertion
    type; the signature (allow-listed algorithm, registered key); ``iss`` and ``sub``;
    ``aud``; ``exp``, ``nbf`` and ``iat``; then ``jti``, recorded as used.
    """
    if assertion_type != ASSERTION_TYPE:
        raise refuse(f"client_assertion_type must be {ASSERTION_TYPE}.")
    if not assertion:
        raise refuse("The client_assertion parameter is missing.")
    _header, claims = jose.verify_signed_jwt(
        assertion, keys, refuse, what=WHAT, max_length=par_settings.MAX_VALUE_LENGTH
    )
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise refuse("The client assertion's iss and sub must both be the client_id.")
    jose.check_audience(claims, audiences, refuse, WHAT)
    exp = jose.check_times(claims, par_settings.CLIENT_ASSERTION_MAX_LIFETIME, refuse, WHAT)
    jti = jose.check_jti(claims, refuse, WHAT)
    replay.use_once("client-assertion", client_id, jti, exp, refuse, WHAT)


def accepted_audiences(request: HttpRequest) -> Iterator[str]:
    """RFC 9126 §2: the issuer identifier, the token endpoint URL, or the URL posted to.

    The URL posted to is the PAR endpoint's at the PAR endpoint, and the token (or
    revocation, introspection) endpoint's at DOT's. Yielded cheapest first: the check
    stops at the first match.
    """
    identifiers = issuer_identifiers(request)
    yield next(identifiers)
    yield request.build_absolute_uri(request.path)
    with contextlib.suppress(NoReverseMatch):
        yield request.build_absolute_uri(reverse("oauth2_provider:token"))
    yield from identifiers


def endpoint_request(request: OAuthlibRequest) -> HttpRequest:
    """The Django request behind ``request``: the PAR endpoint's own, else rebuilt from it."""
    django_request = getattr(request, "django_request", None)
    return django_request if isinstance(django_request, HttpRequest) else EndpointRequest(request)


class EndpointRequest(HttpRequest):
    """The Django request behind an oauthlib request, as far as URL building needs it.

    DOT derives its issuer from a Django request, while validators get oauthlib's: its
    headers are the original request's ``META`` (DOT copies them, with a flag for HTTPS)
    and its URI the endpoint's path or URL. Hosts were checked on the original request.
    """

    _endpoint_scheme: str

    def __init__(self, oauth_request: OAuthlibRequest) -> None:
        super().__init__()
        self.META = {str(name): value for name, value in dict(oauth_request.headers).items()}
        parts = urlsplit(oauth_request.uri)
        if parts.scheme:
            self._endpoint_scheme = parts.scheme
        else:
            self._endpoint_scheme = "https" if self.META.get("X_DJANGO_OAUTH_TOOLKIT_SECURE") else "http"
        if parts.netloc:
            self.META["HTTP_HOST"] = parts.netloc
        self.path = self.path_info = parts.path or "/"

    def _get_scheme(self) -> str:
        return self._endpoint_scheme


def presents_assertion(parameters: Mapping[str, Any]) -> bool:
    """Whether a request carries either assertion parameter, even empty: it then chose this method."""
    return any(parameters.get(name) is not None for name in ASSERTION_PARAMETERS)


def presented_method(request: OAuthlibRequest) -> str:
    """The RFC 7591 name of the authentication method an oauthlib request used."""
    return method_presented(request._params, request.headers.get("Authorization") or "")


def method_presented(parameters: Mapping[str, Any], authorization: str) -> str:
    """The RFC 7591 name of the authentication method that ``parameters`` and an ``Authorization``
    header present (``none``: a bare client_id). The one rule, at the push and at DOT's endpoints."""
    if presents_assertion(parameters):
        return PRIVATE_KEY_JWT
    if authorization.split(" ", 1)[0].lower() == "basic":
        return "client_secret_basic"
    if parameters.get("client_secret") is not None:
        return "client_secret_post"
    return "none"


def _unverified_claims(token: str) -> dict[str, Any]:
    """What a JWT claims before its signature is checked: only to choose how to check it."""
    try:
        claims = json.loads(jose.decode_segment(token.split(".")[1]))
    except (ValueError, IndexError, RecursionError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` an assertion claims, to find the client whose keys then verify it."""
    issuer = _unverified_claims(token).get("iss")
    return issuer if isinstance(issuer, str) else None


def push_endpoint_uri(request: HttpRequest, pairs: Iterable[tuple[str, str]]) -> str:
    """The endpoint URL that client authentication at the PAR endpoint is checked against.

    The PAR endpoint's own URL, except where DOT verifies assertions itself: DOT accepts as
    audience only its OIDC issuer and the URL posted to, while RFC 9126 §2 has the PAR endpoint
    accept the token endpoint URL and every issuer identifier too. There the assertion's
    audience, when it is one of those (:func:`accepted_audiences`), stands in for the URL posted
    to, so DOT accepts what RFC 9126 asks and nothing else: an audience naming no URL of this
    server leaves the PAR endpoint's URL in place, and DOT refuses it.
    """
    posted = request.build_absolute_uri(request.path)
    token = dict(pairs).get("client_assertion")
    if not token or not dot_has_client_keys():
        return posted
    aud = _unverified_claims(token).get("aud")
    named = {
        value.rstrip("/") for value in (aud if isinstance(aud, list) else [aud]) if isinstance(value, str)
    }
    for audience in accepted_audiences(request):
        if audience.rstrip("/") in named:
            return audience
    return posted


def assertion_algorithms() -> list[str]:
    """The algorithms a client assertion may be signed with: DOT's where DOT verifies them."""
    if dot_has_client_keys():
        from oauth2_provider.settings import oauth2_settings

        return list(oauth2_settings.CLIENT_ASSERTION_PRIVATE_KEY_JWT_ALGS)
    return list(par_settings.SIGNING_ALGORITHMS)


def token_endpoint_accepts_assertions() -> bool:
    """Whether DOT's token endpoint accepts ``private_key_jwt``: natively, or through the mixin."""
    from oauth2_provider.settings import oauth2_settings

    return dot_has_client_keys() or issubclass(oauth2_settings.OAUTH2_VALIDATOR_CLASS, PrivateKeyJWTMixin)


class PrivateKeyJWTMixin:
    """Authenticate key-based clients wherever DOT authenticates clients.

    Put it in front of your ``OAUTH2_VALIDATOR_CLASS``::

        class Validator(PrivateKeyJWTMixin, OAuth2Validator):
            pass

    DOT's token, revocation and introspection endpoints then accept ``private_key_jwt``
    exactly as the PAR endpoint does (which uses this mixin whatever the setting), and
    hold every client to its one registered method: a key-based client presenting a
    secret, or a secret client presenting an assertion, is refused. Where the installed
    DOT implements ``private_key_jwt`` itself, DOT verifies assertions and the mixin
    holds the rest (a secret or no authentication) to the registration in DOT's fields
    and to the FAPI 2.0 profile.

    A refusal's reason is left on the oauthlib request as ``par_error`` so the PAR
    endpoint can say why; DOT's endpoints answer their usual ``invalid_client``.
    """

    def client_authentication_required(self, request: OAuthlibRequest, *args: Any, **kwargs: Any) -> bool:
        if not dot_has_client_keys() and presents_assertion(request._params):
            return True
        return bool(super().client_authentication_required(request, *args, **kwargs))  # type: ignore[misc]

    def authenticate_client(self, request: OAuthlibRequest, *args: Any, **kwargs: Any) -> bool:
        presented = presented_method(request)
        if dot_has_client_keys():
            # DOT verifies assertions (and matches them to the client's JWT method); which secret
            # method, if any, a client may use is still decided here, from DOT's field.
            if not super().authenticate_client(request, *args, **kwargs):  # type: ignore[misc]
                return False
            if presented == PRIVATE_KEY_JWT:
                return _holds_to_profile(request, presented)
            return _holds_to_registration(request, presented)
        if presented == PRIVATE_KEY_JWT:
            return self._authenticate_by_assertion(request)
        if not super().authenticate_client(request, *args, **kwargs):  # type: ignore[misc]
            return False
        return _holds_to_registration(request, presented)

    def authenticate_client_id(
        self, client_id: str, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().authenticate_client_id(client_id, request, *args, **kwargs):  # type: ignore[misc]
            return False
        return _holds_to_registration(request, "none")

    def _authenticate_by_assertion(self, request: OAuthlibRequest) -> bool:
        if request.headers.get("Authorization") or request._params.get("client_secret") is not None:
            request.par_error = refuse("Use one client authentication method, not two.")
            return False
        token = request._params.get("client_assertion") or ""
        client_id = request.client_id or unverified_issuer(token)
        if not client_id or self._load_application(client_id, request) is None:  # type: ignore[attr-defined]
            request.par_error = refuse("Client authentication failed.")
            return False
        client = request.client
        settings = registration(client)
        if not settings.uses_private_key_jwt:
            request.par_error = refuse("This client is not registered to authenticate with private_key_jwt.")
            return False
        try:
            verify_client_assertion(
                request._params.get("client_assertion_type"),
                token,
                client.client_id,
                settings.keys,
                accepted_audiences(endpoint_request(request)),
            )
        except ParError as error:
            request.par_error = error
            return False
        return True


def _holds_to_profile(request: OAuthlibRequest, presented: str) -> bool:
    if fapi2() and presented not in FAPI2_AUTHENTICATION_METHODS:
        # The profile holds at DOT's endpoints as at the push: keys only, whatever the registration.
        request.par_error = refuse("This server accepts only private_key_jwt client authentication.")
        return False
    return True


def _holds_to_registration(request: OAuthlibRequest, presented: str) -> bool:
    if not _holds_to_profile(request, presented):
        return False
    settings = registration(request.client)
    if settings.accepts(presented, request.client.client_type):
        return True
    if settings.uses_private_key_jwt:
        request.par_error = refuse("This client must authenticate with private_key_jwt.")
    else:
        request.par_error = refuse("This client is registered for another authentication method.")
    return False
