"""The authorization server's issuer identifier, as DOT derives it: one place decides it.

:func:`issuer_identifier` is what this server names itself (RFC 9207 ``iss``, the ``aud`` a
request object must carry). Without ``OIDC_ISS_ENDPOINT``, a site that also serves the RFC 8414
document at the origin's root announces the origin itself as ``issuer`` there, and OpenID
Connect discovery may announce its own prefix; :func:`issuer_identifiers` yields every value the
server's documents announce, so a client that read any of them signs for an accepted value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest
from django.urls import NoReverseMatch, Resolver404, resolve
from oauth2_provider.settings import oauth2_settings

ROOT_METADATA_PATH = "/.well-known/oauth-authorization-server"


def issuer_identifier(request: Any) -> str:
    """The ``issuer`` that DOT's RFC 8414 metadata publishes (``OIDC_ISS_ENDPOINT`` when set).

    Derived once per request, as DOT derives it (``oauth2_authorization_server_issuer``).
    """
    remembered = getattr(request, "_oauth_par_issuer", None)
    if isinstance(remembered, str):
        return remembered  # a push checks it for its assertion and its request object alike
    issuer = str(oauth2_settings.oauth2_authorization_server_issuer(request))
    request._oauth_par_issuer = issuer
    return issuer


def with_issuer(location: str, issuer: str) -> str:
    """``location`` carrying ``iss=issuer`` where the response's parameters are (RFC 9207 §2).

    The fragment when the response uses one (implicit, ``response_mode=fragment``), the query
    otherwise; any ``iss`` already there, in either place, is replaced, so there is exactly one.
    """
    parts = urlsplit(location)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    fragment = [(k, v) for k, v in parse_qsl(parts.fragment, keep_blank_values=True) if k != "iss"]
    if parts.fragment:
        fragment.append(("iss", issuer))
    else:
        query.append(("iss", issuer))
    return urlunsplit(parts._replace(query=urlencode(query), fragment=urlencode(fragment)))


def issuer_identifiers(request: HttpRequest) -> Iterator[str]:
    """Every ``issuer`` value this server's metadata documents announce, the canonical one first.

    A generator, so that a token naming the canonical issuer costs no URL resolving beyond it.
    """
    canonical = issuer_identifier(request)
    yield canonical
    if oauth2_settings.OIDC_ISS_ENDPOINT:
        return
    with contextlib.suppress(NoReverseMatch):  # OpenID Connect discovery not routed: nothing to add
        oidc = str(oauth2_settings.oidc_issuer(request))
        if oidc != canonical:
            yield oidc
    if _serves_root_metadata():
        yield request.build_absolute_uri("/").rstrip("/")


def _serves_root_metadata() -> bool:
    try:
        match = resolve(ROOT_METADATA_PATH)
    except Resolver404:
        return False
    view: Any = getattr(match.func, "view_class", None)
    return view is not None and view.__name__ == "OAuthServerMetadataView"
