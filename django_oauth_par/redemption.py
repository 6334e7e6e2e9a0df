"""Redeeming a ``request_uri`` at the authorization endpoint.

:func:`redeem` is the one place that decides whether a presented reference is
usable, :func:`claim` the one place that spends it, and :func:`par_required`
the one place that decides whether a request without a reference is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import QueryDict
from django.utils import timezone

from .conf import par_settings
from .exceptions import ParError
from .models import REQUEST_URI_PREFIX, ClientPolicy, PushedRequest, reference_digest

#: One message for unknown and foreign references, so a reference reveals nothing
#: about requests pushed by other clients.
UNKNOWN = (
    "The request_uri is unknown or was not issued to this client. Return to the application and start again."
)
EXPIRED = "The request_uri has expired. Return to the application and start again."
USED = "The request_uri has already been used. Return to the application and start again."


def redeem(query: QueryDict) -> PushedRequest:
    """The pushed request that ``query`` (``client_id`` + ``request_uri``) refers to, still usable."""
    references = query.getlist("request_uri")
    client_ids = query.getlist("client_id")
    if len(references) != 1:
        raise ParError("invalid_request", "Exactly one request_uri parameter is required.")
    if len(client_ids) != 1 or not client_ids[0]:
        raise ParError("invalid_request", "Exactly one client_id parameter is required with a request_uri.")
    reference = references[0]
    if not reference.startswith(REQUEST_URI_PREFIX):
        # RFC 9126 §4: only references from our own endpoint are accepted; nothing is fetched.
        raise ParError(
            "invalid_request_uri",
            "Only request_uri values issued by this server's PAR endpoint are accepted.",
        )

    pushed = (
        PushedRequest.objects.select_related("application").filter(digest=reference_digest(reference)).first()
    )
    if pushed is None or pushed.application.client_id != client_ids[0]:
        raise ParError("invalid_request_uri", UNKNOWN)
    if pushed.consumed_at is not None:
        raise ParError("invalid_request_uri", USED)
    if pushed.is_expired():
        raise ParError("invalid_request_uri", EXPIRED)
    return pushed


def claim(pushed: PushedRequest) -> None:
    """Spend ``pushed``; raise unless this call is the one that did.

    A single conditional UPDATE decides the winner on every database, so exactly one
    of any number of racing requests gets to issue the authorization response.
    """
    now = timezone.now()
    spent = PushedRequest.objects.filter(pk=pushed.pk, consumed_at__isnull=True, expires_at__gt=now).update(
        consumed_at=now
    )
    if spent != 1:
        if PushedRequest.objects.filter(pk=pushed.pk, consumed_at__isnull=True).exists():
            raise ParError("invalid_request_uri", EXPIRED)
        raise ParError("invalid_request_uri", USED)
    pushed.consumed_at = now


def par_required(client_ids: Iterable[str]) -> bool:
    """Whether an authorization request naming ``client_ids`` must carry a pushed ``request_uri``."""
    if par_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS:
        return True
    ids = {client_id for client_id in client_ids if client_id}
    if not ids:
        return False
    return ClientPolicy.objects.filter(
        application__client_id__in=ids, require_pushed_authorization_requests=True
    ).exists()
