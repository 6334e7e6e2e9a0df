"""The authorization server's issuer identifier, as DOT derives it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from oauth2_provider.settings import oauth2_settings


def issuer_identifier(request: Any) -> str:
    """The ``issuer`` that DOT's RFC 8414 metadata publishes (``OIDC_ISS_ENDPOINT`` when set).

    DOT 3.4 derives it with ``oauth2_authorization_server_issuer``; older releases only
    know the OpenID Connect issuer, which is the same value once ``OIDC_ISS_ENDPOINT`` is set.
    """
    derive = getattr(oauth2_settings, "oauth2_authorization_server_issuer", None)
    if derive is None:  # pragma: no cover - DOT < 3.4
        return str(oauth2_settings.oidc_issuer(request))
    return str(derive(request))


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
