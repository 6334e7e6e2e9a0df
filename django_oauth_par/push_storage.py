"""Storing an accepted push: the reference, its digest, and the bounds on pushes without authentication."""

from __future__ import annotations

import json
import secrets
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauthlib.oauth2.rfc6749 import utils

from .conf import par_settings
from .exceptions import ParError
from .models import REQUEST_URI_PREFIX, PushedRequest, reference_digest

#: 256 bits of randomness in every reference (RFC 9126 §7.1 asks for enough to defeat guessing).
REFERENCE_BYTES = 32


ADDRESS_SALT = "django_oauth_par.push-address"


def store(
    client: Any, parameters: list[tuple[str, str]], lifetime: int, address: str | None
) -> tuple[str, PushedRequest]:
    """Store the push; ``address`` is where it came from when it was not authenticated, else None."""
    request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(REFERENCE_BYTES)
    now = timezone.now()
    # Only a push that did not authenticate its client needs the count and the insert together.
    together = (
        nullcontext()
        if address is None
        else transaction.atomic(using=router.db_for_write(PushedRequest), savepoint=False)
    )
    with together:
        digest = "" if address is None else hold_unauthenticated_slot(client, address, now)
        pushed_request = PushedRequest.objects.create(
            application=client,
            digest=reference_digest(request_uri),
            parameters=[list(pair) for pair in parameters],
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
            client_authenticated=address is None,
            address_digest=digest,
        )
    return request_uri, pushed_request


def address_digest(address: str) -> str:
    """A keyed hash of an address: enough to count by, useless to anyone reading the table."""
    return salted_hmac(ADDRESS_SALT, address, algorithm="sha256").hexdigest()


def hold_unauthenticated_slot(client: Any, address: str, now: Any) -> str:
    """Make room for one more unredeemed push without client authentication, or refuse with 429.

    Anyone may push in a public client's name, so such pushes are bounded: per client,
    ``UNAUTHENTICATED_PENDING_PER_CLIENT`` unredeemed rows at most (its expired unredeemed rows are
    deleted to make room when it is reached), and per address ``UNAUTHENTICATED_PENDING_PER_ADDRESS``
    pending ones, so one address cannot take the client's whole allowance. Returns the
    address's digest for the new row. Runs in the caller's transaction.
    """
    digest = address_digest(address)
    # Concurrent pushes for one client count one after the other: lock its row (FOR NO KEY
    # UPDATE where the database has it, which does not block DOT inserting its tokens).
    application_model = get_application_model()
    features = connections[router.db_for_write(application_model)].features
    locked = application_model.objects.select_for_update(no_key=features.has_select_for_no_key_update)
    list(locked.filter(pk=client.pk).values_list("pk"))

    unredeemed = PushedRequest.objects.filter(
        application=client, redeemed_at__isnull=True, client_authenticated=False
    )
    counts = unredeemed.aggregate(
        total=Count("pk"), pending_here=Count("pk", filter=Q(address_digest=digest, expires_at__gt=now))
    )
    retry = {"Retry-After": str(par_settings.REQUEST_URI_LIFETIME)}
    if counts["pending_here"] >= par_settings.UNAUTHENTICATED_PENDING_PER_ADDRESS:
        raise ParError(
            "invalid_request",
            "Too many pending pushed requests from this address. Try again later.",
            status=429,
            headers=retry,
        )
    limit = par_settings.UNAUTHENTICATED_PENDING_PER_CLIENT
    if counts["total"] >= limit:
        unredeemed.filter(expires_at__lte=now).delete()
        if unredeemed.count() >= limit:
            raise ParError(
                "invalid_request",
                "Too many pending pushed requests for this client. Try again later.",
                status=429,
                headers=retry,
            )
    return digest


#: Where DOT stores each pushed parameter it keeps: (model getter, field name). The grant
#: holds the request; the token endpoint copies the scope and resources into its tokens.
STORED_BY_DOT = {
    "redirect_uri": [(get_grant_model, "redirect_uri")],
    "scope": [(get_grant_model, "scope"), (get_access_token_model, "scope"), (get_id_token_model, "scope")],
    "code_challenge": [(get_grant_model, "code_challenge")],
    "code_challenge_method": [(get_grant_model, "code_challenge_method")],
    "nonce": [(get_grant_model, "nonce")],
    "claims": [(get_grant_model, "claims")],
    "resource": [
        (get_grant_model, "resource"),
        (get_access_token_model, "resource"),
        (get_refresh_token_model, "resource"),
    ],
}


def stored_form(name: str, values: list[str]) -> str:
    """The text DOT writes for a parameter: its scope joined by single spaces, its claims and
    resources re-serialised as JSON, everything else as it came."""
    if name == "scope":
        return " ".join(utils.scope_to_list(values[0]))
    if name == "claims":
        try:
            return json.dumps(json.loads(values[0]))
        except ValueError:
            return values[0]  # oauthlib refuses it; its length is no more our concern
    if name == "resource":
        return json.dumps(values)
    return values[0]


def check_storable(pairs: list[tuple[str, str]]) -> None:
    """Refuse, now, any value longer than the installed DOT's models can store.

    Otherwise the push succeeds and the user consents, then DOT's write of the grant or
    the token fails (on PostgreSQL; SQLite would keep it whole). The limits are read from
    the models in use, so a swapped model's own sizes count.
    """
    for name, places in STORED_BY_DOT.items():
        values = [value for key, value in pairs if key == name]
        if not values:
            continue
        length = len(stored_form(name, values))
        for get_model, field_name in places:
            try:
                max_length = get_model()._meta.get_field(field_name).max_length
            except FieldDoesNotExist:  # an older DOT, or a swapped model without it
                continue
            if max_length is not None and length > max_length:
                raise ParError(
                    "invalid_request", f"The {name} parameter is longer than {max_length} characters."
                )
