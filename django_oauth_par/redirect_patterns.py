"""Redirect URI patterns: unregistered redirect URIs for authenticated pushes (RFC 9126 §2.4).

A pattern is an absolute URI whose host may start with one wildcard label,
``https://*.tenant.example.com/callback``. The wildcard stands for exactly one host
label (letters, digits and inner hyphens) and nothing else: no dot, no port, no path.
Everything else must match exactly, as RFC 6749 §3.1.2.3 asks of registered URIs.

Only ``https`` patterns are accepted, and ``http`` on a loopback IP address for native
apps, whose port may then vary (RFC 8252 §7.3).
"""

from __future__ import annotations

import ipaddress
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

WILDCARD = "*"
#: One DNS label as a host name may use it (RFC 1123): no dot, no underscore, no empty label.
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class PatternError(ValueError):
    """Why a pattern cannot be used; the message is shown to staff in the admin."""


@dataclass(frozen=True)
class RedirectPattern:
    scheme: str
    #: The host's labels, lower case; the first may be ``*``.
    labels: tuple[str, ...]
    port: int | None
    path: str
    query: str

    @property
    def loopback(self) -> bool:
        return self.scheme == "http"

    def matches(self, uri: str) -> bool:
        """Whether ``uri`` is one of the redirect URIs this pattern allows."""
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme != self.scheme or parts.fragment or "#" in uri:
            return False
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            return False
        if (parts.path or "/") != self.path or parts.query != self.query:
            return False
        if not self.loopback and port != self.port:
            return False
        host = parts.hostname or ""
        labels = tuple(host.split("."))
        if len(labels) != len(self.labels):
            return False
        for wanted, label in zip(self.labels, labels, strict=True):
            if wanted == WILDCARD:
                if not LABEL.fullmatch(label):
                    return False
            elif label != wanted:
                return False
        return True


def parse_pattern(text: str) -> RedirectPattern:
    """The pattern written as ``text``; raises :class:`PatternError` saying what is wrong."""
    text = text.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise PatternError(f"{text!r} is not a valid URI ({error}).") from None
    if parts.fragment or "#" in text:
        raise PatternError(f"{text!r}: a redirect URI has no fragment.")
    if parts.username is not None or "@" in parts.netloc:
        raise PatternError(f"{text!r}: a redirect URI has no user information.")
    host = parts.hostname or ""
    if not host:
        raise PatternError(f"{text!r}: an absolute URI with a host is needed.")
    if WILDCARD in parts.path or WILDCARD in parts.query:
        raise PatternError(f"{text!r}: a wildcard may only stand for the first label of the host.")
    labels = tuple(host.split("."))
    for index, label in enumerate(labels):
        if label == WILDCARD and index == 0:
            continue
        if WILDCARD in label:
            raise PatternError(f"{text!r}: a wildcard may only stand for the whole first label of the host.")
    if parts.scheme == "https":
        if labels[0] == WILDCARD and len(labels) < 3:
            raise PatternError(
                f"{text!r}: a wildcard needs at least two fixed labels after it (*.example.com), "
                "so that it cannot stand for a whole registrable domain."
            )
    elif parts.scheme == "http":
        if not _is_loopback(host):
            raise PatternError(f"{text!r}: plain http is only allowed on a loopback address (RFC 8252).")
        if WILDCARD in labels:
            raise PatternError(f"{text!r}: a loopback redirect URI has no wildcard.")
    else:
        raise PatternError(f"{text!r}: only https (and http on a loopback address) is allowed.")
    return RedirectPattern(
        scheme=parts.scheme,
        labels=labels,
        port=None if parts.scheme == "http" else port,
        path=parts.path or "/",
        query=parts.query,
    )


def parse_patterns(text: str) -> list[RedirectPattern]:
    """Every pattern of ``text``, one per line (blank lines ignored)."""
    return [parse_pattern(line) for line in text.splitlines() if line.strip()]


def allowed_by(patterns: str, uri: str) -> bool:
    """Whether ``uri`` matches one of ``patterns`` (one per line). A broken pattern allows nothing."""
    try:
        parsed = parse_patterns(patterns)
    except PatternError:
        return False
    return any(pattern.matches(uri) for pattern in parsed)


def _is_loopback(host: str) -> bool:
    # An IP literal only: RFC 8252 §8.3 advises against "localhost", which DNS may resolve elsewhere.
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RedirectUriPatternsMixin:
    """Accepts an unregistered redirect URI that the client's patterns allow (RFC 9126 §2.4).

    Only while :data:`patterns_client` names the client: the PAR endpoint sets it for a push
    that carried client authentication, and the authorization view for a request pushed
    that way. Classic requests never see it, and the patterns are read again at the
    authorization endpoint, so a pattern removed after the push takes effect at once.
    """

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs):  # type: ignore[misc]
            return True
        client = patterns_client.get()
        if client is None or client.client_id != client_id:
            return False
        from .policy import policy_of

        return allowed_by(policy_of(client).redirect_uri_patterns, redirect_uri)


#: The client whose redirect URI patterns apply to the request being served, if any.
patterns_client: ContextVar[Any] = ContextVar("patterns_client", default=None)
