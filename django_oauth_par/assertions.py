"""``private_key_jwt`` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9).

:func:`verify_client_assertion` decides whether an assertion authenticates a client.
It is used at the PAR endpoint and, through :class:`PrivateKeyJWTMixin`, wherever DOT
authenticates clients (token, revocation, introspection), so both accept the same
assertions. Every refusal is ``401 invalid_client``; the assertion is used for
authentication only and is never stored or logged (only a digest of its ``jti`` is
kept, to refuse a replay).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from . import jose
from .conf import par_settings
from .exceptions import ParError
from .issuer import issuer_identifiers
from .keys import ClientKeys

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_PARAMETERS = frozenset({"client_assertion", "client_assertion_type"})
WHAT = "client assertion"


def refuse(description: str) -> ParError:
    return ParError("invalid_client", description, status=401, reason="invalid_client_assertion")


def verify_client_assertion(
    assertion_type: str | None,
    assertion: str | None,
    client_id: str,
    keys: ClientKeys,
    audiences: Collection[str],
) -> None:
    """Accept ``assertion`` as proof that the caller holds a private key of ``client_id``.

    Checked in this order, so that nothing unsigned can spend a ``jti``: the assertion
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
    jose.use_once("client-assertion", client_id, jti, exp, refuse, WHAT)


def accepted_audiences(request: HttpRequest) -> list[str]:
    """RFC 9126 §2: the issuer identifier, the token endpoint URL, or the URL posted to.

    The URL posted to is the PAR endpoint's at the PAR endpoint, and the token (or
    revocation, introspection) endpoint's at DOT's endpoints.
    """
    audiences = issuer_identifiers(request)
    with contextlib.suppress(NoReverseMatch):
        audiences.append(request.build_absolute_uri(reverse("oauth2_provider:token")))
    audiences.append(request.build_absolute_uri(request.path))
    return list(dict.fromkeys(audiences))


def presents_assertion(parameters: Any) -> bool:
    """Whether a request carries either assertion parameter, even empty: it then chose this method."""
    return any(parameters.get(name) is not None for name in ASSERTION_PARAMETERS)
