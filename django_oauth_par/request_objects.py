"""Signed request objects in a push (RFC 9126 §3, RFC 9101).

:func:`request_object_parameters` verifies the ``request`` JWT a client pushed and
turns its claims into the authorization request's parameters. The push then validates
them exactly as a plain push (``push.validate_push``): one function decides what is
a valid authorization request, whichever way it came. Every refusal here is
``400 invalid_request_object``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from . import jose, replay
from .audit import printable
from .conf import par_settings
from .exceptions import ParError
from .keys import ClientKeys
from .push_body import MULTI_VALUED

WHAT = "request object"
#: JWT claims that describe the object itself, not the authorization request (RFC 7519 §4.1).
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})
#: Parameters a push may carry beside ``request`` (RFC 9101 §5, RFC 9126 §3).
ALLOWED_BESIDE = frozenset(
    {"request", "client_id", "client_secret", "client_assertion", "client_assertion_type"}
)
#: ``typ`` values accepted: RFC 9101 §10.8's own, or the generic one; anything else is another kind of JWT.
TYPES = frozenset({"oauth-authz-req+jwt", "jwt"})


def refuse(description: str) -> ParError:
    return ParError("invalid_request_object", description, status=400)


def request_object_parameters(
    pairs: list[tuple[str, str]], client_id: str, keys: ClientKeys, audiences: Iterable[str]
) -> list[tuple[str, str]]:
    """The authorization request carried by the push's ``request`` parameter, as pairs.

    ``pairs`` is the whole push body: an authorization parameter outside the object
    (anything but ``client_id`` and client authentication) is refused, because only
    the object's parameters are used (RFC 9101 §5) and silently dropping a value the
    client sent could hide an attack or a mistake.
    """
    outside = sorted({name for name, _ in pairs} - ALLOWED_BESIDE)
    if outside:
        raise refuse(
            f"With a request object, the parameter {printable(outside[0], 40)} must be inside it, not "
            "beside it."
        )
    token = dict(pairs)["request"]
    header, claims = jose.verify_signed_jwt(
        token, keys, refuse, what=WHAT, max_length=par_settings.MAX_VALUE_LENGTH
    )
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in TYPES):
        raise refuse("The request object's typ must be oauth-authz-req+jwt.")
    if claims.get("iss") != client_id:
        raise refuse("The request object's iss must be the client_id.")
    if "client_id" in claims and claims["client_id"] != client_id:
        raise refuse("The request object's client_id does not match the authenticated client.")
    if "request" in claims or "request_uri" in claims:
        raise refuse("A request object must not contain request or request_uri.")
    jose.check_audience(claims, audiences, refuse, WHAT)
    exp = jose.check_times(claims, par_settings.REQUEST_OBJECT_MAX_LIFETIME, refuse, WHAT)
    jti = jose.check_jti(claims, refuse, WHAT)
    parameters = [("client_id", client_id)]
    for name, value in claims.items():
        if name in JWT_CLAIMS or name == "client_id":
            continue
        parameters.extend((name, text) for text in _as_text(name, value))
    replay.use_once("request-object", client_id, jti, exp, refuse, WHAT)
    return parameters


def _as_text(name: str, value: Any) -> list[str]:
    """A claim as the parameter value(s) it stands for.

    Strings stay as they are; JSON-valued parameters (``claims``, ``authorization_details``)
    keep their JSON text, exactly as a plain push sends them; a multi-valued parameter
    given as an array becomes one value per element.
    """
    if isinstance(value, str):
        return [value]
    if name in MULTI_VALUED and isinstance(value, list):
        if not value or not all(isinstance(item, str) for item in value):
            raise refuse(f"The request object's {name} must be a string or an array of strings.")
        return value
    if value is None:
        raise refuse(f"The request object's {name} is null.")
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]
    return [json.dumps(value, separators=(",", ":"), ensure_ascii=False)]
