"""Reading a push's body: media type, size, encoding and parameters, before any database work."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from . import audit, throttling
from .conf import par_settings
from .exceptions import ParError

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


#: Parameters that may be given more than once (RFC 8707 §2); all others are refused when repeated.
MULTI_VALUED = frozenset({"resource"})


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
