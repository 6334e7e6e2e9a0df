"""Resolving and redeeming a ``request_uri`` at the authorization endpoint.

:func:`resolve` is the one place that decides whether a presented reference is
usable, :func:`redeem` the one place that uses it up, and :func:`par_required`
the one place that decides whether a request without a reference is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest, QueryDict
from django.utils import timezone

from . import audit
from .exceptions import ParError
from .models import OUTCOME_LENGTH, POLICY, REQUEST_URI_PREFIX, ClientPolicy, PushedRequest, reference_digest
from .policy import par_required_for_every_client

#: One message for unknown and foreign references, so a reference reveals nothing
#: about requests pushed by other clients.
UNKNOWN = (
    "The request_uri is unknown or was not issued to this client. Return to the application and start again."
)
EXPIRED = "The request_uri has expired. Return to the application and start again."
USED = "The request_uri has already been used. Return to the application and start again."


def resolve(request: HttpRequest) -> PushedRequest:
    """The pushed request that the query's ``client_id`` + ``request_uri`` refer to, still usable."""
    pushed, error = _find(request.GET)
    if error is None:
        assert pushed is not None
        return pushed
    error.client_id = request.GET.get("client_id")
    audit.rejected(request, "authorization", error, pushed)
    if error.reason == "expired" and pushed is not None:
        audit.expired(request, pushed)
    raise error


def _find(query: QueryDict) -> tuple[PushedRequest | None, ParError | None]:
    """The pushed request named by ``query``, or why not (with the row, when it is the presenter's)."""
    references = query.getlist("request_uri")
    client_ids = query.getlist("client_id")
    if len(references) != 1:
        return None, ParError("invalid_request", "Exactly one request_uri parameter is required.")
    if len(client_ids) != 1 or not client_ids[0]:
        return None, ParError(
            "invalid_request", "Exactly one client_id parameter is required with a request_uri."
        )
    reference = references[0]
    if not reference.startswith(REQUEST_URI_PREFIX):
        # RFC 9126 §4: only references from our own endpoint are accepted; nothing is fetched.
        return None, ParError(
            "invalid_request_uri",
            "Only request_uri values issued by this server's PAR endpoint are accepted.",
            reason="not_ours",
        )
    try:
        pushed = PushedRequest.objects.select_related("application", f"application__{POLICY}").get(
            digest=reference_digest(reference)
        )
    except PushedRequest.DoesNotExist:
        pushed = None
    if pushed is None:
        return None, ParError("invalid_request_uri", UNKNOWN, reason="unknown")
    if pushed.application.client_id != client_ids[0]:
        # The owner's row stays out of the audit event: the presenter is someone else.
        return None, ParError("invalid_request_uri", UNKNOWN, reason="foreign_client")
    if pushed.redeemed_at is not None:
        return pushed, ParError("invalid_request_uri", USED, reason="redeemed")
    if pushed.is_expired():
        return pushed, ParError("invalid_request_uri", EXPIRED, reason="expired")
    return pushed, None


def redeem(request: HttpRequest, pushed: PushedRequest, outcome: str) -> None:
    """Redeem ``pushed`` for an authorization response; raise unless this call is the one that did.

    A single conditional UPDATE decides the winner on every database, so exactly one
    of any number of racing requests gets to issue the authorization response.
    """
    now = timezone.now()
    outcome = storable_outcome(outcome)
    unredeemed = PushedRequest.objects.filter(pk=pushed.pk, redeemed_at__isnull=True, expires_at__gt=now)
    if unredeemed.update(redeemed_at=now, outcome=outcome) != 1:
        if PushedRequest.objects.filter(pk=pushed.pk, redeemed_at__isnull=True).exists():
            error = ParError("invalid_request_uri", EXPIRED, reason="expired")
            audit.expired(request, pushed)
        else:
            error = ParError("invalid_request_uri", USED, reason="raced")
        audit.rejected(request, "authorization", error, pushed)
        raise error
    pushed.redeemed_at = now
    pushed.outcome = outcome


def record_outcome(pushed: PushedRequest, outcome: str) -> None:
    """Correct the outcome of a redeemed request (its code creation ended in an error redirect)."""
    outcome = storable_outcome(outcome)
    if outcome != pushed.outcome:
        PushedRequest.objects.filter(pk=pushed.pk).update(outcome=outcome)
        pushed.outcome = outcome


def storable_outcome(outcome: str) -> str:
    """``outcome`` cut to what the column holds: an error code of a site's own may be longer."""
    return outcome[:OUTCOME_LENGTH]


def par_required(client_ids: Iterable[str]) -> bool:
    """Whether an authorization request naming ``client_ids`` must carry a pushed ``request_uri``."""
    if par_required_for_every_client():
        return True
    ids = {client_id for client_id in client_ids if client_id}
    if not ids:
        return False
    return bool(
        ClientPolicy.objects.filter(
            application__client_id__in=ids, require_pushed_authorization_requests=True
        ).exists()
    )
