"""Well-formed absolute URIs (RFC 3986), as a pushed ``redirect_uri`` or ``resource`` must be."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

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
