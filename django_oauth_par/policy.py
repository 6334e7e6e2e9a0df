"""Each client's PAR policy: one function decides what applies to a client.

The per-client fields live on :class:`~django_oauth_par.models.ClientPolicy` (edited on the
client's admin page); the server-wide values in ``OAUTH2_PAR`` are the defaults and, where
they are switches, a floor that a client's own setting cannot lower. ``PROFILE = "fapi2"``
raises that floor to the FAPI 2.0 Security Profile for every client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .conf import par_settings
from .exceptions import INVALID_CLIENT_HEADERS, ParError
from .models import ClientPolicy

FAPI2 = "fapi2"
#: FAPI 2.0 Security Profile §5.3.2.2: request_uri lifetimes shorter than 600 seconds.
FAPI2_MAX_REQUEST_URI_LIFETIME = 599
#: FAPI 2.0 allows private_key_jwt or mutual TLS; this app offers the first.
FAPI2_AUTHENTICATION_METHODS = frozenset({"private_key_jwt"})


@dataclass(frozen=True)
class Policy:
    #: Seconds a request_uri of this client stays usable.
    request_uri_lifetime: int
    #: Pushes without client authentication are refused.
    require_authenticated_push: bool
    #: Patterns of unregistered redirect URIs that authenticated pushes may use (one per line).
    redirect_uri_patterns: str
    #: Client authentication methods accepted at the push; None: whatever DOT accepts.
    authentication_methods: frozenset[str] | None = None
    #: PKCE with S256 is required in the push.
    pkce_s256_required: bool = False
    #: The push must name its redirect_uri.
    redirect_uri_required: bool = False
    #: response_type values accepted in the push; None: whatever DOT accepts.
    response_types: frozenset[str] | None = None


def fapi2() -> bool:
    return par_settings.PROFILE == FAPI2


def par_required_for_every_client() -> bool:
    return par_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS or fapi2()


def iss_in_authorization_responses() -> bool:
    return par_settings.AUTHORIZATION_RESPONSE_ISS or fapi2()


def max_request_uri_lifetime() -> int:
    """The longest request_uri lifetime any client may have: the setting, lowered by the profile."""
    if fapi2():
        return min(par_settings.MAX_REQUEST_URI_LIFETIME, FAPI2_MAX_REQUEST_URI_LIFETIME)
    return par_settings.MAX_REQUEST_URI_LIFETIME


def policy_of(client: Any) -> Policy:
    """The policy that applies to ``client`` now (one query for its ClientPolicy row)."""
    row = ClientPolicy.of(client)
    lifetime = par_settings.REQUEST_URI_LIFETIME
    if row is not None and row.request_uri_lifetime:
        lifetime = row.request_uri_lifetime
    lifetime = min(lifetime, max_request_uri_lifetime())
    patterns = row.redirect_uri_patterns if row is not None else ""
    required = par_settings.REQUIRE_AUTHENTICATED_PUSH or bool(row and row.require_authenticated_push)
    if not fapi2():
        return Policy(lifetime, required, patterns)
    return Policy(
        request_uri_lifetime=lifetime,
        require_authenticated_push=True,
        redirect_uri_patterns=patterns,
        authentication_methods=FAPI2_AUTHENTICATION_METHODS,
        pkce_s256_required=True,
        redirect_uri_required=True,
        response_types=frozenset({"code"}),
    )


def enforce_authentication(policy: Policy, method: str) -> None:
    """Refuse a push whose client authentication ``method`` the policy does not accept."""
    if method == "none" and policy.require_authenticated_push:
        raise ParError(
            "invalid_client",
            "This client must authenticate when it pushes an authorization request.",
            status=401,
            headers=INVALID_CLIENT_HEADERS,
        )
    if policy.authentication_methods is not None and method not in policy.authentication_methods:
        allowed = ", ".join(sorted(policy.authentication_methods))
        raise ParError(
            "invalid_client",
            f"This server accepts only these client authentication methods: {allowed}.",
            status=401,
            headers=INVALID_CLIENT_HEADERS,
        )


def enforce_request(policy: Policy, params: dict[str, str]) -> None:
    """Refuse pushed parameters that the policy rules out (FAPI 2.0 §5.3.2.2 for the profile)."""
    if policy.response_types is not None and params.get("response_type") not in policy.response_types:
        raise ParError(
            "unsupported_response_type",
            f"Only response_type {' '.join(sorted(policy.response_types))} is accepted.",
        )
    if policy.redirect_uri_required and not params.get("redirect_uri"):
        raise ParError("invalid_request", "The redirect_uri parameter is required.")
    if policy.pkce_s256_required and (
        not params.get("code_challenge") or params.get("code_challenge_method") != "S256"
    ):
        raise ParError("invalid_request", "PKCE with code_challenge_method S256 is required.")
