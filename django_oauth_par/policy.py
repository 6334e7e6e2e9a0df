"""Each client's PAR policy: one function decides what applies to a client.

The per-client fields live on :class:`~django_oauth_par.models.ClientPolicy` (edited on the
client's admin page); the server-wide values in ``OAUTH2_PAR`` are the defaults and, where
they are switches, a floor that a client's own setting cannot lower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .conf import par_settings
from .models import ClientPolicy


@dataclass(frozen=True)
class Policy:
    #: Seconds a request_uri of this client stays usable, within MAX_REQUEST_URI_LIFETIME.
    request_uri_lifetime: int
    #: Pushes without client authentication are refused.
    require_authenticated_push: bool
    #: Patterns of unregistered redirect URIs that authenticated pushes may use (one per line).
    redirect_uri_patterns: str


def policy_of(client: Any) -> Policy:
    """The policy that applies to ``client`` now (one query for its ClientPolicy row)."""
    row = ClientPolicy.objects.filter(application_id=client.pk).first()
    lifetime = par_settings.REQUEST_URI_LIFETIME
    if row is not None and row.request_uri_lifetime:
        lifetime = row.request_uri_lifetime
    return Policy(
        request_uri_lifetime=min(lifetime, par_settings.MAX_REQUEST_URI_LIFETIME),
        require_authenticated_push=par_settings.REQUIRE_AUTHENTICATED_PUSH
        or bool(row and row.require_authenticated_push),
        redirect_uri_patterns=row.redirect_uri_patterns if row is not None else "",
    )
